# Loading tfdeeprec exports (TF Serving layout BASE/NAME/VERSION) and calling them from R.
# Only TensorFlow is needed on the Python side: no tfdeeprec, no Keras.

#' Load an exported model.
#'
#' @param base The export base folder (the one TF Serving's `--model_base_path` points
#'   above).
#' @param name The model name (a folder under `base`).
#' @param version An integer version, or `NULL` for the newest.
#' @return A `tfdeeprec_export` object for [score()] and [recommend()].
#' @details Two-tower exports come as `NAME` (brute force, stock TensorFlow ops),
#'   `NAME_scann` (same signatures over a ScaNN index) and `NAME_query_tower`. Loading
#'   `NAME_scann` first imports ScaNN's TF ops into the Python session (the module named
#'   by `getOption("tfdeeprec.scann_ops_module")`, default
#'   `"scann.scann_ops.py.scann_ops"`); where ScaNN is missing, the error names the
#'   brute-force twin to load instead.
#' @examples
#' \dontrun{
#' model <- load_export("exports", "neumf")
#' recommend(model, c("1", "2"), k = 10)
#' }
#' @export
load_export <- function(base, name, version = NULL) {
  folder <- file.path(base, name)
  if (!dir.exists(folder)) {
    stop(sprintf("tfdeeprec: no exported model '%s' under '%s' (expected %s/<version>/)",
                 name, base, folder), call. = FALSE)
  }
  versions <- suppressWarnings(as.integer(list.files(folder)))
  versions <- sort(versions[!is.na(versions)])
  if (length(versions) == 0) {
    stop(sprintf("tfdeeprec: '%s' holds no version folder", folder), call. = FALSE)
  }
  if (is.null(version)) version <- max(versions)
  if (!(version %in% versions)) {
    stop(sprintf("tfdeeprec: model '%s' has no version %s (versions: %s)", name, version,
                 paste(versions, collapse = ", ")), call. = FALSE)
  }
  path <- file.path(folder, version)
  tf <- tensorflow_module()
  metadata_file <- file.path(path, "assets", "tfdeeprec.json")
  metadata <- if (file.exists(metadata_file)) jsonlite::fromJSON(metadata_file) else NULL
  if (identical(metadata$retrieval$index, "scann")) load_scann_ops(name, metadata)
  loaded <- tryCatch(tf$saved_model$load(normalizePath(path)), error = function(e) {
    if (grepl("Scann", conditionMessage(e))) load_scann_ops(name, metadata, e)
    stop(e)
  })
  structure(list(name = name, version = as.integer(version), path = path,
                 module = loaded, metadata = metadata),
            class = "tfdeeprec_export")
}

# ScaNN-backed exports (NAME_scann) call ScaNN's TF ops, which must be registered in
# the Python process before the SavedModel loads; without them, name the brute-force
# twin, which has the same signatures and needs stock TensorFlow only.
load_scann_ops <- function(name, metadata, cause = NULL) {
  module <- getOption("tfdeeprec.scann_ops_module", "scann.scann_ops.py.scann_ops")
  problem <- tryCatch({
    reticulate::import(module)
    NULL
  }, error = function(e) conditionMessage(e))
  if (is.null(problem) && is.null(cause)) return(invisible(TRUE))
  twin <- metadata$retrieval$exports$brute_force
  twin <- if (is.null(twin)) "the brute-force export" else sprintf("'%s'", dirname(twin))
  stop(sprintf(paste0(
    "tfdeeprec: export '%s' uses ScaNN's TensorFlow ops, which this Python (%s) cannot ",
    "load (%s). Install them with `pip install scann==1.4.2` (Linux x86_64, built for ",
    "TensorFlow 2.20), or load the brute-force twin %s instead: same signatures, stock ",
    "TensorFlow ops only."), name, reticulate::py_config()$python,
    if (is.null(problem)) conditionMessage(cause) else problem, twin), call. = FALSE)
}

#' @export
print.tfdeeprec_export <- function(x, ...) {
  cat(sprintf("<tfdeeprec export '%s' version %d: %s>\n", x$name, x$version,
              paste(export_signatures(x)$signature, collapse = ", ")))
  invisible(x)
}

#' The serving signatures of an export, with their inputs and outputs.
#'
#' @param model A `tfdeeprec_export` from [load_export()].
#' @return A data.frame: signature, inputs, outputs (as "name:dtype" lists).
#' @export
export_signatures <- function(model) {
  signatures <- model$module$signatures
  names <- sort(unlist(reticulate::import_builtins()$list(signatures$keys())))
  describe <- function(specs) {
    paste(vapply(names(specs), function(n) sprintf("%s:%s", n, specs[[n]]$dtype$name),
                 character(1)), collapse = ", ")
  }
  rows <- lapply(names, function(s) {
    fn <- signatures[[s]]
    data.frame(signature = s,
               inputs = describe(fn$structured_input_signature[[2]]),
               outputs = describe(fn$structured_outputs), stringsAsFactors = FALSE)
  })
  do.call(rbind, rows)
}

#' The export's metadata (`assets/tfdeeprec.json`): task, vocabulary sizes, metrics, ...
#'
#' @param model A `tfdeeprec_export`.
#' @export
export_metadata <- function(model) model$metadata

#' Score (user, item) pairs with the `score` signature.
#'
#' @param model A `tfdeeprec_export`.
#' @param data A data.frame with `user_id` and `item_id` columns (coerced to character).
#' @return `data` with `score` (rating, or probability for implicit models) and `known`
#'   (both IDs were in the training vocabularies; unknown IDs get the documented
#'   fallback score).
#' @export
score <- function(model, data) {
  stopifnot(inherits(model, "tfdeeprec_export"))
  missing <- setdiff(c("user_id", "item_id"), names(data))
  if (length(missing)) {
    stop(sprintf("tfdeeprec: `data` needs columns user_id and item_id; missing: %s",
                 paste(missing, collapse = ", ")), call. = FALSE)
  }
  tf <- tensorflow_module()
  fn <- signature(model, "score")
  out <- fn(user_id = string_vector(tf, data$user_id),
            item_id = string_vector(tf, data$item_id))
  data$score <- as_r_vector(out$score)
  data$known <- as_r_vector(out$known)
  data
}

#' Top-k recommendations with the `recommend` signature.
#'
#' @param model A `tfdeeprec_export`.
#' @param user_ids Character (or coercible) user IDs.
#' @param k How many items per user (at most the exported maximum).
#' @param exclude Items not to recommend: a character vector applied to every user, or
#'   a list with one character vector per user.
#' @return A data.frame with columns user_id, rank, item_id, score (one row per
#'   recommended item; users with fewer than k candidates get fewer rows).
#' @export
recommend <- function(model, user_ids, k = 10L, exclude = NULL) {
  stopifnot(inherits(model, "tfdeeprec_export"))
  user_ids <- as.character(user_ids)
  if (!is.numeric(k) || length(k) != 1 || k < 1) {
    stop(sprintf("tfdeeprec: `k` must be one positive number. Received: k=%s",
                 paste(k, collapse = ",")), call. = FALSE)
  }
  tf <- tensorflow_module()
  np <- reticulate::import("numpy", convert = FALSE)
  if (is.null(exclude)) exclude <- character(0)
  if (!is.list(exclude)) exclude <- rep(list(as.character(exclude)), length(user_ids))
  if (length(exclude) != length(user_ids)) {
    stop(sprintf("tfdeeprec: `exclude` must have one entry per user (%d). Received: %d",
                 length(user_ids), length(exclude)), call. = FALSE)
  }
  width <- max(0L, vapply(exclude, length, integer(1)))
  padded <- t(vapply(exclude, function(x) c(as.character(x), rep("", width - length(x))),
                     character(width)))
  if (width == 0L) padded <- matrix(character(0), nrow = length(user_ids), ncol = 0)
  exclude_tensor <- tf$reshape(tf$constant(as.vector(t(padded)), dtype = tf$string),
                               list(length(user_ids), width))
  fn <- signature(model, "recommend")
  out <- fn(user_id = string_vector(tf, user_ids),
            k = tf$constant(as.integer(k), dtype = tf$int32), exclude = exclude_tensor)
  items <- np$char$decode(out$item_ids$numpy()$astype("S"), "utf-8")
  n_cols <- as.integer(reticulate::py_to_r(items$shape[1]))
  ids <- matrix(unlist(reticulate::py_to_r(items$ravel()$tolist())), ncol = n_cols, byrow = TRUE)
  scores <- matrix(as_r_vector(out$scores), ncol = n_cols, byrow = TRUE)
  result <- data.frame(user_id = rep(user_ids, each = n_cols),
                       rank = rep(seq_len(n_cols), times = length(user_ids)),
                       item_id = as.vector(t(ids)), score = as.vector(t(scores)),
                       stringsAsFactors = FALSE)
  result[result$item_id != "", , drop = FALSE]
}

signature <- function(model, name) {
  signatures <- model$module$signatures
  available <- unlist(reticulate::import_builtins()$list(signatures$keys()))
  if (!(name %in% available)) {
    stop(sprintf("tfdeeprec: export '%s' has no signature '%s' (it has: %s)", model$name,
                 name, paste(sort(available), collapse = ", ")), call. = FALSE)
  }
  signatures[[name]]
}

# A 1-D string tensor, also for a single ID (which reticulate would pass as a scalar).
string_vector <- function(tf, x) {
  tf$reshape(tf$constant(as.character(x), dtype = tf$string), list(-1L))
}

# A tensor as a plain R vector, through a Python list (this reticulate cannot convert
# numpy 2 arrays itself).
as_r_vector <- function(tensor) {
  unlist(reticulate::py_to_r(reticulate::r_to_py(tensor)$numpy()$ravel()$tolist()))
}

tensorflow_module <- function() {
  Sys.setenv(TF_USE_LEGACY_KERAS = "1")
  if (!reticulate::py_module_available("tensorflow")) {
    stop("tfdeeprec: Python has no TensorFlow; run `make install` or point ",
         "RETICULATE_PYTHON at an environment with tensorflow", call. = FALSE)
  }
  reticulate::import("tensorflow")
}
