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

#' Score rows: feature rows with `score_features`, or (user, item) pairs with `score`.
#'
#' Which signature is called follows from the export and the columns of `data`:
#' * an export with a `score_features` signature (the context models: `lr`, `fm`,
#'   `deepfm`, `xdeepfm`, `dcn`, `dcn_v2`, `autoint`) is called through it when `data`
#'   has a column for every one of its inputs (one per feature; see
#'   [export_signatures()]);
#' * otherwise `score` is called with the columns its inputs name (`user_id` and
#'   `item_id`); context exports trained on user/item-keyed data have it, exports trained
#'   on rows without IDs (e.g. Criteo) do not.
#'
#' Other columns of `data` are ignored. When neither signature finds its columns, the
#' error names the missing columns and the columns each signature takes.
#'
#' @param model A `tfdeeprec_export`.
#' @param data A data.frame. IDs and categories are converted to character (factors by
#'   their labels, whole numbers without an exponent), numbers to the input's float type.
#'   Features sent to `score_features` may be missing: `NA` in a character, factor or
#'   numeric column is passed as the feature's missing value (`""` for a category, `NaN`
#'   for a number, which the export imputes). A multi-valued feature (e.g. `genres`)
#'   takes either strings already joined by its separator (`"|"`, or the one recorded in
#'   the export's metadata) or a list column with one character vector per row, whose
#'   values are joined (`NA` values dropped; an empty vector is missing).
#' @return `data` with a column for each output of the signature called that has a
#'   batch dimension: `score` (rating, or probability for implicit and CTR models) and,
#'   from `score`, `known` (both IDs were in the training vocabularies; unknown IDs get
#'   the documented fallback score, see `export_metadata(model)$oov`).
#' @examples
#' \dontrun{
#' model <- load_export("exports", "deepfm_ctr")
#' rows <- data.frame(user_id = c("1", "2"), item_id = c("50", NA), age = c(25, NA),
#'                    gender = factor(c("F", "M")))
#' rows$genres <- list(c("Action", "Comedy"), character(0))
#' score(model, rows)   # + the other features the export takes
#' }
#' @export
score <- function(model, data) {
  stopifnot(inherits(model, "tfdeeprec_export"))
  available <- signature_names(model)
  pair_inputs <- function() names(signature_specs(model, "score")$inputs)
  if ("score_features" %in% available) {
    specs <- signature_specs(model, "score_features")
    features <- names(specs$inputs)
    missing <- setdiff(features, names(data))
    if (length(missing) == 0) {
      values <- lapply(features, function(n) {
        feature_value(data[[n]], specs$inputs[[n]], feature_spec(model, n), n)
      })
      names(values) <- features
      out <- do.call(call_signature, c(list(model, "score_features"), values))
      return(add_outputs(data, out, specs$outputs))
    }
    pairs_missing <- if ("score" %in% available) setdiff(pair_inputs(), names(data))
    if (!("score" %in% available) || length(pairs_missing)) {
      stop(sprintf(paste0("tfdeeprec: `data` needs a column for every input of ",
                          "'score_features' (%s); missing: %s%s"),
                   paste(features, collapse = ", "), paste(missing, collapse = ", "),
                   if ("score" %in% available) {
                     sprintf(". Or, for 'score', columns %s; missing: %s",
                             paste(pair_inputs(), collapse = ", "),
                             paste(pairs_missing, collapse = ", "))
                   } else ""), call. = FALSE)
    }
  }
  specs <- signature_specs(model, "score")
  columns <- names(specs$inputs)
  missing <- setdiff(columns, names(data))
  if (length(missing)) {
    stop(sprintf("tfdeeprec: `data` needs columns %s; missing: %s",
                 paste(columns, collapse = ", "), paste(missing, collapse = ", ")),
         call. = FALSE)
  }
  out <- do.call(call_signature, c(list(model, "score"), as.list(data)[columns]))
  add_outputs(data, out, specs$outputs)
}

# `data` with a column per output (of `out`) that has a batch dimension, in name order
# (the metadata lists outputs sorted; a loaded signature's dict of outputs has no fixed
# order).
add_outputs <- function(data, out, outputs) {
  batched <- names(outputs)[vapply(outputs, function(s) length(s$shape) > 0, logical(1))]
  for (name in sort(intersect(batched, names(out)))) data[[name]] <- out[[name]]
  data
}

# The feature spec of input `name` as the export's metadata records it (training
# config): list(kind, separator); kind NA where the metadata does not say.
feature_spec <- function(model, name) {
  features <- model$metadata[["training"]][["features"]]
  found <- NULL
  if (is.data.frame(features) && name %in% features$name) {
    found <- as.list(features[match(name, features$name), , drop = FALSE])
  } else if (is.list(features)) {
    for (f in features) if (identical(f[["name"]], name)) found <- f
  }
  kind <- if (is.null(found[["kind"]])) NA_character_ else found[["kind"]]
  separator <- found[["separator"]]
  if (is.null(separator) || is.na(separator)) separator <- "|"
  list(kind = kind, separator = separator)
}

# One column of `data` as the raw values of feature input `name` (its signature `spec`):
# strings with "" for missing (a list column joined by the separator), numbers with NaN
# for missing.
feature_value <- function(value, spec, feature, name) {
  if (is.factor(value)) value <- as.character(value)
  if (spec$dtype == "string") {
    if (!is.list(value)) {
      text <- as_text(value)
      text[is.na(value)] <- ""
      return(text)
    }
    rows <- lapply(value, function(v) {
      v <- as_text(unlist(v))
      v[!is.na(v)]
    })
    several <- which(lengths(rows) > 1)
    if (identical(feature$kind, "categorical") && length(several)) {
      stop(sprintf(paste0("tfdeeprec: feature `%s` takes one category per row; row %d ",
                          "holds %d values (a list column is for multi-valued features)"),
                   name, several[1], length(rows[[several[1]]])), call. = FALSE)
    }
    holding <- vapply(rows, function(v) any(grepl(feature$separator, v, fixed = TRUE)),
                      logical(1))
    if (any(holding)) {
      bad <- rows[[which(holding)[1]]]
      stop(sprintf("tfdeeprec: feature `%s` has a value holding its separator '%s': \"%s\"",
                   name, feature$separator,
                   bad[grepl(feature$separator, bad, fixed = TRUE)][1]), call. = FALSE)
    }
    return(vapply(rows, paste, character(1), collapse = feature$separator))
  }
  if (grepl("^(float|double|bfloat)", spec$dtype)) {
    if (is.list(value)) {
      stop(sprintf("tfdeeprec: numeric feature `%s` takes one number per row, not a list",
                   name), call. = FALSE)
    }
    numbers <- suppressWarnings(as.double(value))
    bad <- which(is.na(numbers) & !is.na(value))
    if (length(bad)) {
      stop(sprintf("tfdeeprec: numeric feature `%s` has a value that is not a number: \"%s\"",
                   name, value[bad[1]]), call. = FALSE)
    }
    numbers[is.na(numbers)] <- NaN
    return(numbers)
  }
  value
}

# Values as character, whole numbers in full ("100000", not "1e+05") as Python writes them.
as_text <- function(x) {
  if (is.factor(x)) return(as.character(x))
  out <- as.character(x)
  if (is.double(x)) {
    whole <- is.finite(x) & x == trunc(x) & abs(x) < 1e15
    out[whole] <- sprintf("%.0f", x[whole] + 0)
  }
  out
}

#' Top-k recommendations with the `recommend` signature, or from a history.
#'
#' @param model A `tfdeeprec_export`.
#' @param user_ids Character (or coercible) user IDs.
#' @param k How many items per user (at most the exported maximum).
#' @param exclude Items not to recommend: a character vector applied to every user, or
#'   a list with one character vector per user.
#' @param history Instead of `user_ids`: the items of one session in time order (a
#'   character vector, oldest first), or a list with one such vector per session;
#'   answered by [recommend_from_items()] (sequence and row exports).
#' @return A data.frame with columns user_id, rank, item_id, score (one row per
#'   recommended item; users with fewer than k candidates get fewer rows); with
#'   `history`, the columns of [recommend_from_items()].
#' @examples
#' \dontrun{
#' recommend(model, c("1", "2"), k = 5)
#' recommend(model, history = c("50", "172", "133"), k = 5)
#' }
#' @export
recommend <- function(model, user_ids = NULL, k = 10L, exclude = NULL, history = NULL) {
  stopifnot(inherits(model, "tfdeeprec_export"))
  if (!is.null(history)) {
    if (!is.null(user_ids)) stop("give `user_ids` or `history`, not both", call. = FALSE)
    return(recommend_from_items(model, history, k = k, exclude = exclude))
  }
  if (is.null(user_ids)) stop("`user_ids` (or `history`) is required", call. = FALSE)
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
