test_that("the classic NCF script trains, reports MAE/RMSE and writes its plots", {
  script <- normalizePath(file.path("..", "..", "scripts", "ncf_synthetic.R"))
  out <- file.path(tempdir(), "r_ncf")
  started <- Sys.time()
  output <- system2(file.path(R.home("bin"), "Rscript"), c(script, out),
                    stdout = TRUE, stderr = TRUE)
  seconds <- as.numeric(difftime(Sys.time(), started, units = "secs"))
  expect_null(attr(output, "status"))
  expect_lt(seconds, 180)
  line <- grep("MAE [0-9.]+, RMSE [0-9.]+", output, value = TRUE)
  expect_length(line, 1)
  metrics <- jsonlite::fromJSON(file.path(out, "metrics.json"))
  expect_lt(metrics$rmse, metrics$baseline_rmse)  # planted structure: beats the mean
  for (png in c("training_history.png", "predicted_vs_actual.png", "rating_distribution.png")) {
    bytes <- readBin(file.path(out, png), "raw", 8)
    expect_equal(bytes, as.raw(c(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)))
  }
})
