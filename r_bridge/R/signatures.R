# Calling an export's signatures with R values, converted by the dtypes and shapes the
# export declares (assets/tfdeeprec.json, else the SavedModel's own signature).

#' Call any signature of an export with R values.
#'
#' Each input is converted by the signature's dtype and shape, read from the export's
#' metadata (`assets/tfdeeprec.json`) or, where that lacks them, from the SavedModel.
#'
#' @param model A `tfdeeprec_export`.
#' @param name A signature name (see [export_signatures()]).
#' @param ... The signature's inputs, named: a vector for a `[batch]` input, a matrix
#'   or array for more dimensions (for two, also a list with one vector per row, padded
#'   with `""`, `0` or `FALSE`), one value for a scalar. Values are coerced to the
#'   input's dtype (`as.character()` for strings, with whole numbers in full: `"100000"`,
#'   not `"1e+05"`; `as.integer()` for integers, `as.double()` for floats,
#'   `as.logical()` for bool).
#' @return A named list with one R value per output: a vector for a `[batch]` output, a
#'   matrix or array for more dimensions, one value for a scalar.
#' @examples
#' \dontrun{
#' model <- load_export("exports", "neumf")
#' out <- call_signature(model, "recommend", user_id = c("1", "2"), k = 5L,
#'                       exclude = list("50", character(0)))
#' out$item_ids   # a 2 x 5 character matrix
#' }
#' @export
call_signature <- function(model, name, ...) {
  stopifnot(inherits(model, "tfdeeprec_export"))
  fn <- signature(model, name)
  inputs <- signature_specs(model, name, fn)$inputs
  values <- list(...)
  given <- names(values)
  if (is.null(given)) given <- rep("", length(values))
  given[!nzchar(given)] <- "<unnamed>"
  missing <- setdiff(names(inputs), given)
  unexpected <- setdiff(given, names(inputs))
  if (length(missing) || length(unexpected) || anyDuplicated(given)) {
    stop(sprintf("tfdeeprec: signature '%s' takes inputs %s (missing: %s; unexpected: %s)",
                 name, paste(names(inputs), collapse = ", "), paste(missing, collapse = ", "),
                 paste(unexpected, collapse = ", ")), call. = FALSE)
  }
  tf <- tensorflow_module()
  args <- lapply(names(inputs), function(n) input_tensor(tf, values[[n]], inputs[[n]], n))
  names(args) <- names(inputs)
  lapply(do.call(fn, args), tensor_to_r)
}

#' Python mappings' keys as `$` names.
#'
#' reticulate 1.28's `$` reads attributes only, so `model$signatures$serving_default`
#' fails on the signatures of a loaded SavedModel (a Python Mapping). With tfdeeprec
#' loaded, `$` on a Mapping falls back to the key when no attribute has that name.
#'
#' @param x A Python object whose class derives from `collections.abc.Mapping`.
#' @param name An attribute or key.
#' @export
`$.collections.abc.Mapping` <- function(x, name) {
  if (reticulate::py_has_attr(x, name)) NextMethod() else x[[name]]
}

signature <- function(model, name) {
  available <- signature_names(model)
  if (!(name %in% available)) {
    stop(sprintf("tfdeeprec: export '%s' has no signature '%s' (it has: %s)", model$name,
                 name, paste(sort(available), collapse = ", ")), call. = FALSE)
  }
  model$module$signatures[[name]]
}

signature_names <- function(model) {
  unlist(reticulate::import_builtins()$list(model$module$signatures$keys()))
}

# A signature's inputs and outputs, each name -> list(dtype, shape): from the export's
# metadata, else from the loaded signature (unknown dimensions are NA or NULL).
signature_specs <- function(model, name, fn = signature(model, name)) {
  specs <- model$metadata[["signatures"]][[name]]
  if (!is.null(specs[["inputs"]]) && !is.null(specs[["outputs"]])) {
    return(specs[c("inputs", "outputs")])
  }
  describe <- function(tensors) {
    lapply(tensors, function(t) list(dtype = t$dtype$name, shape = t$shape$as_list()))
  }
  list(inputs = describe(fn$structured_input_signature[[2]]),
       outputs = describe(fn$structured_outputs))
}

# An R value as a tensor of the input's dtype and rank (row-major, as numpy).
input_tensor <- function(tf, value, spec, name) {
  dtype <- spec$dtype
  rank <- length(spec$shape)
  coerce <- switch(sub("[0-9]+$", "", dtype), string = as_text, bool = as.logical,
                   int = , uint = as.integer, as.double)
  if (rank == 2 && is.list(value)) {
    value <- pad_rows(lapply(value, coerce), if (dtype == "string") "" else coerce(0))
  }
  dims <- if (rank == 0) integer(0) else if (is.null(dim(value))) length(value) else dim(value)
  if (rank == 0 && length(value) != 1) {
    stop(sprintf("tfdeeprec: input `%s` takes one value. Received: %d values", name,
                 length(value)), call. = FALSE)
  }
  if (length(dims) != rank) {
    stop(sprintf("tfdeeprec: input `%s` must have %d dimensions. Received: %s", name, rank,
                 paste(dims, collapse = " x ")), call. = FALSE)
  }
  flat <- coerce(if (rank > 1) aperm(value) else value)
  tf$reshape(tf$constant(flat, dtype = dtype), as.list(dims))
}

# A tensor as an R value (see py_to_r.numpy.ndarray); 1-D as a plain vector.
tensor_to_r <- function(tensor) {
  value <- reticulate::py_to_r(reticulate::import("numpy", convert = FALSE)$asarray(tensor))
  if (length(dim(value)) == 1) as.vector(value) else value
}
