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
#' @param data A data.frame with a column for each input of the export's `score`
#'   signature (`user_id` and `item_id` for every current export), converted to the
#'   input's dtype (IDs to character).
#' @return `data` with a column for each output of `score` that has a batch dimension:
#'   `score` (rating, or probability for implicit models) and `known` (both IDs were in
#'   the training vocabularies; unknown IDs get the documented fallback score).
#' @export
score <- function(model, data) {
  stopifnot(inherits(model, "tfdeeprec_export"))
  specs <- signature_specs(model, "score")
  columns <- names(specs$inputs)
  missing <- setdiff(columns, names(data))
  if (length(missing)) {
    stop(sprintf("tfdeeprec: `data` needs columns %s; missing: %s",
                 paste(columns, collapse = ", "), paste(missing, collapse = ", ")),
         call. = FALSE)
  }
  out <- do.call(call_signature, c(list(model, "score"), as.list(data)[columns]))
  batched <- names(specs$outputs)[vapply(specs$outputs, function(s) length(s$shape) > 0,
                                         logical(1))]
  for (name in intersect(names(out), batched)) data[[name]] <- out[[name]]
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
  check_k(k)
  exclude <- per_row(exclude, length(user_ids), "user")
  out <- call_signature(model, "recommend", user_id = user_ids, k = k,
                        exclude = pad_rows(exclude, ""))
  ranked_items("user_id", user_ids, out)
}

#' Top-k recommendations for sessions given by their items (`recommend_from_items`).
#'
#' For exports with a `recommend_from_items` signature, which recommends from the items
#' a user interacted with rather than from a known user ID.
#'
#' @param model A `tfdeeprec_export`.
#' @param items The items of one anonymous user or session (a character vector), or a
#'   list with one character vector per row.
#' @param k How many items per row (at most the exported maximum).
#' @param exclude Items not to recommend: a character vector applied to every row, or a
#'   list with one character vector per row.
#' @return A data.frame with columns row (the position in `items`), rank, item_id,
#'   score.
#' @examples
#' \dontrun{
#' recommend_from_items(model, list(c("50", "172"), "1"), k = 5)
#' }
#' @export
recommend_from_items <- function(model, items, k = 10L, exclude = NULL) {
  stopifnot(inherits(model, "tfdeeprec_export"))
  check_k(k)
  rows <- if (is.list(items)) lapply(items, as.character) else list(as.character(items))
  exclude <- per_row(exclude, length(rows), "row")
  out <- call_signature(model, "recommend_from_items", item_ids = pad_rows(rows, ""), k = k,
                        exclude = pad_rows(exclude, ""))
  ranked_items("row", seq_along(rows), out)
}

check_k <- function(k) {
  if (!is.numeric(k) || length(k) != 1 || k < 1) {
    stop(sprintf("tfdeeprec: `k` must be one positive number. Received: k=%s",
                 paste(k, collapse = ",")), call. = FALSE)
  }
}

# `exclude` as one character vector per row: NULL is none, a vector applies to all.
per_row <- function(exclude, n, what) {
  if (is.null(exclude)) exclude <- character(0)
  if (!is.list(exclude)) return(rep(list(as.character(exclude)), n))
  if (length(exclude) != n) {
    stop(sprintf("tfdeeprec: `exclude` must have one entry per %s (%d). Received: %d",
                 what, n, length(exclude)), call. = FALSE)
  }
  lapply(exclude, as.character)
}

# Vectors of different lengths as the rows of a matrix, padded at the end with `pad`.
pad_rows <- function(rows, pad) {
  width <- max(0L, lengths(rows))
  padded <- lapply(rows, function(r) c(r, rep(pad, width - length(r))))
  matrix(c(pad[0], unlist(padded)), nrow = length(rows), ncol = width, byrow = TRUE)
}

# The `item_ids` and `scores` matrices of a recommend signature as one row per item,
# keyed by `keys` (one per matrix row); "" padding (fewer eligible items) is dropped.
ranked_items <- function(key, keys, out) {
  n <- ncol(out$item_ids)
  result <- data.frame(key = rep(keys, each = n), rank = rep(seq_len(n), times = length(keys)),
                       item_id = as.vector(t(out$item_ids)), score = as.vector(t(out$scores)),
                       stringsAsFactors = FALSE)
  names(result)[1] <- key
  result[result$item_id != "", , drop = FALSE]
}

tensorflow_module <- function() {
  Sys.setenv(TF_USE_LEGACY_KERAS = "1")
  if (!reticulate::py_module_available("tensorflow")) {
    stop("tfdeeprec: Python has no TensorFlow; run `make install` or point ",
         "RETICULATE_PYTHON at an environment with tensorflow", call. = FALSE)
  }
  reticulate::import("tensorflow")
}
