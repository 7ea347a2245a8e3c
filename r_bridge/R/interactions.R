# Reading interaction data through tfdeeprec's loaders into R data frames.

#' Read interactions with tfdeeprec's loaders.
#'
#' @param source `"synthetic"`, a TFDS name such as `"movielens/100k-ratings"`, or a
#'   path (GroupLens folder, RecBole atomic folder, CSV file).
#' @param ... Options passed to Python's `tfdeeprec.data.load_interactions`.
#' @return A data.frame with character `user_id` and `item_id`, and numeric
#'   `rating` / `timestamp` where the source has them.
#' @examples
#' \dontrun{
#' tfdeeprec_use_python()
#' head(read_interactions("synthetic"))
#' }
#' @export
read_interactions <- function(source, ...) {
  data <- tfdeeprec_python_module("data")
  frame <- data$load_interactions(source, ...)
  pandas_to_data_frame(frame$interactions)
}

# Column by column through plain Python lists, which works for every pandas version
# (reticulate's own DataFrame conversion predates pandas 3's string dtype).
pandas_to_data_frame <- function(df) {  # df: a pandas DataFrame (unconverted)
  columns <- df$to_dict(orient = "list")
  out <- as.data.frame(lapply(columns, unlist), stringsAsFactors = FALSE)
  for (id in intersect(c("user_id", "item_id"), names(out))) {
    out[[id]] <- as.character(out[[id]])
  }
  out
}
