test_that("synthetic interactions arrive as a data.frame with character IDs", {
  py <- tfdeeprec_python_module("data")
  expected <- py$load_interactions("synthetic")
  df <- read_interactions("synthetic")
  expect_s3_class(df, "data.frame")
  expect_type(df$user_id, "character")
  expect_type(df$item_id, "character")
  expect_equal(nrow(df), expected$num_interactions)
  expect_equal(length(unique(df$user_id)), expected$num_users)
  expect_equal(length(unique(df$item_id)), expected$num_items)
  expect_true(all(df$rating >= 1 & df$rating <= 5))
})

test_that("a CSV written in R is read with the same values", {
  path <- tempfile(fileext = ".csv")
  write.csv(data.frame(user_id = c("a", "b", "b"), item_id = c(10, 10, 11),
                       rating = c(4, 2.5, 5)), path, row.names = FALSE)
  df <- read_interactions(path)
  expect_equal(df$user_id, c("a", "b", "b"))
  expect_equal(df$item_id, c("10", "10", "11"))
  expect_equal(df$rating, c(4, 2.5, 5))
})

test_that("bad input gives a clear R error naming the value", {
  expect_error(read_interactions("/no/such/folder"), "/no/such/folder")
  expect_error(tfdeeprec_use_python("/no/python/here"), "no Python at '/no/python/here'")
})
