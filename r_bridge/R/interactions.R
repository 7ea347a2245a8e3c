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
  out <- reticulate::py_to_r(frame$interactions)
  rownames(out) <- NULL
  out$user_id <- as.character(out$user_id)
  out$item_id <- as.character(out$item_id)
  out
}
