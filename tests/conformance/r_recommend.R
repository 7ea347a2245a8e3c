# Answers `recommend` for exports through the R bridge, as an R user calls it.
#
#   Rscript r_recommend.R BRIDGE_DIR REQUESTS.json ANSWERS.json
#
# REQUESTS.json: [{"base", "name", "user_id": [...], "k"}]; ANSWERS.json: one
# {"user_id", "rank", "item_id", "score"} (the rows of recommend()) per request.
args <- commandArgs(trailingOnly = TRUE)
Sys.setenv(TF_USE_LEGACY_KERAS = "1")
reticulate::use_python(Sys.getenv("RETICULATE_PYTHON"), required = TRUE)
pkgload::load_all(args[[1]], quiet = TRUE, export_all = FALSE)
requests <- jsonlite::fromJSON(args[[2]], simplifyVector = FALSE)
answers <- lapply(requests, function(r) {
  model <- load_export(r$base, r$name)
  rows <- recommend(model, unlist(r$user_id), k = r$k)
  list(user_id = rows$user_id, rank = rows$rank, item_id = rows$item_id, score = rows$score)
})
writeLines(jsonlite::toJSON(answers, digits = NA, auto_unbox = FALSE), args[[3]])
