# Choosing the Python that runs tfdeeprec, with Keras 2 set before TensorFlow loads.

#' Use a Python environment that has tfdeeprec installed.
#'
#' Sets `TF_USE_LEGACY_KERAS=1` (tfdeeprec needs Keras 2) before TensorFlow can
#' load, then points reticulate at `python` (default: `RETICULATE_PYTHON`, else the
#' project's `.venv`). Fails with a clear message when that Python or tfdeeprec is
#' missing.
#'
#' @param python Path to a Python executable, or `NULL`.
#' @return The path of the Python in use, invisibly.
#' @examples
#' \dontrun{
#' tfdeeprec_use_python("/path/to/tfdeeprec/.venv/bin/python")
#' }
#' @export
tfdeeprec_use_python <- function(python = NULL) {
  Sys.setenv(TF_USE_LEGACY_KERAS = "1")
  if (is.null(python)) python <- Sys.getenv("RETICULATE_PYTHON", unset = "")
  if (!nzchar(python)) python <- file.path(getwd(), ".venv", "bin", "python")
  if (!file.exists(python)) {
    stop(sprintf(paste0("tfdeeprec: no Python at '%s'. Run `make install` in the ",
                        "tfdeeprec checkout or pass python = '/path/to/bin/python'."),
                 python), call. = FALSE)
  }
  if (reticulate::py_available(initialize = FALSE)) {
    active <- normalizePath(reticulate::py_config()$python, mustWork = FALSE)
    if (active != normalizePath(python, mustWork = FALSE)) {
      stop(sprintf(paste0("tfdeeprec: this R session already runs Python '%s'; ",
                          "restart R to use '%s'."), active, python), call. = FALSE)
    }
  } else {
    reticulate::use_python(python, required = TRUE)
  }
  tfdeeprec_python_module()
  invisible(python)
}

#' The imported Python module `tfdeeprec` (or one of its submodules).
#'
#' @param name Submodule name such as `"data"`, or `NULL` for the package.
#' @export
tfdeeprec_python_module <- function(name = NULL) {
  Sys.setenv(TF_USE_LEGACY_KERAS = "1")
  full <- if (is.null(name)) "tfdeeprec" else paste0("tfdeeprec.", name)
  if (!reticulate::py_module_available("tfdeeprec")) {
    stop(paste0("tfdeeprec: the Python package 'tfdeeprec' is not installed in ",
                reticulate::py_config()$python,
                ". Run `make install` in the tfdeeprec checkout."), call. = FALSE)
  }
  reticulate::import(full, convert = TRUE)
}
