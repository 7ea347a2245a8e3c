library(testthat)
library(tfdeeprec)
test_check("tfdeeprec")
