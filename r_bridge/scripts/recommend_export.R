#!/usr/bin/env Rscript
# Loads a model exported by Python (`tfdeeprec export`) and prints top-10 recommendations.
#
#   Rscript r_bridge/scripts/recommend_export.R BASE NAME [USER_ID ...]
#
# e.g. after
#   tfdeeprec train --model neumf --data synthetic --out runs/neumf
#   tfdeeprec export --model-dir runs/neumf --base exports --name neumf
# run
#   Rscript r_bridge/scripts/recommend_export.R exports neumf 1 2

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: recommend_export.R BASE NAME [USER_ID ...]")
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(), value = TRUE))))
Sys.setenv(TF_USE_LEGACY_KERAS = "1")
python <- Sys.getenv("RETICULATE_PYTHON",
                     unset = file.path(here, "..", "..", ".venv", "bin", "python"))
suppressWarnings(reticulate::use_python(python, required = TRUE))
if (requireNamespace("tfdeeprec", quietly = TRUE)) {
  library(tfdeeprec)
} else {
  pkgload::load_all(file.path(here, ".."), quiet = TRUE, export_all = FALSE)
}

model <- load_export(args[[1]], args[[2]])
meta <- export_metadata(model)
users <- if (length(args) > 2) args[-(1:2)] else "1"
cat(sprintf("%s version %d (%s, task %s)\n", model$name, model$version,
            meta$model$family, meta$task))
recs <- recommend(model, users, k = 10)
for (u in users) {
  cat(sprintf("\ntop-10 for user %s\n", u))
  print(recs[recs$user_id == u, c("rank", "item_id", "score")], row.names = FALSE)
}
