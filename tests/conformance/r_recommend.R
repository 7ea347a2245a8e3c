# Answers `recommend` for exports through the R bridge, as an R user calls it.
#
#   Rscript r_recommend.R BRIDGE_DIR REQUESTS.json ANSWERS.json
#
# REQUESTS.json: [{"base", "name", "user_id": [...], "k", "from_items": [[...]]}];
# ANSWERS.json: one {"user_id", "rank", "item_id", "score"} (the rows of recommend()) per
# request, plus "from_items" (the rows of recommend_from_items()) where the export has it.
args <- commandArgs(trailingOnly = TRUE)
Sys.setenv(TF_USE_LEGACY_KERAS = "1")
reticulate::use_python(Sys.getenv("RETICULATE_PYTHON"), required = TRUE)
pkgload::load_all(args[[1]], quiet = TRUE, export_all = FALSE)
requests <- jsonlite::fromJSON(args[[2]], simplifyVector = FALSE)
answers <- lapply(requests, function(r) {
  model <- load_export(r$base, r$name)
  rows <- recommend(model, unlist(r$user_id), k = r$k)
  answer <- list(user_id = rows$user_id, rank = rows$rank, item_id = rows$item_id,
                 score = rows$score)
  if ("recommend_from_items" %in% export_signatures(model)$signature) {
    items <- lapply(r$from_items, function(x) as.character(unlist(x)))
    folded <- recommend(model, history = items, k = r$k)  # recommend_from_items
    answer$from_items <- list(row = folded$row, rank = folded$rank,
                              item_id = folded$item_id, score = folded$score)
  }
  answer
})
writeLines(jsonlite::toJSON(answers, digits = NA, auto_unbox = FALSE), args[[3]])
