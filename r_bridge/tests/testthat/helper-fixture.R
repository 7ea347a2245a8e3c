# Every model family exported by Python (make_exports.py), with what Python computed for
# the same requests. Built once per R session, on first use (after setup.R chose Python).
delayedAssign("fixture", local({
  out <- file.path(tempdir(), "tfdeeprec-exports")
  if (!file.exists(file.path(out, "expected.json"))) {
    python <- reticulate::py_config()$python
    status <- system2(python, c("make_exports.py", shQuote(out)), stdout = TRUE, stderr = TRUE)
    if (!is.null(attr(status, "status"))) stop(paste(status, collapse = "\n"))
  }
  jsonlite::fromJSON(file.path(out, "expected.json"), simplifyVector = FALSE)
}))
