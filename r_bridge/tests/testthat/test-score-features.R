# Context (CTR) exports: score() on a data.frame of features calls `score_features`, with
# R's missing values, factors and list columns converted as Python's raw features; the
# same numbers as the SavedModel called from Python.

# Built once in this R session's Python (context_exports.py, ~30 s): `fm_ctr` (keyed
# synthetic ratings) and `deepfm_criteo` (Criteo-shaped rows without IDs).
context_py <- reticulate::import_from_path("context_exports", path = normalizePath("."))
context_base <- local({
  built <- NULL
  function() {
    if (is.null(built)) {
      out <- file.path(tempdir(), "tfdeeprec-context")
      built <<- tryCatch(list(base = context_py$build(out)), error = function(e) e)
    }
    if (inherits(built, "error")) stop(built)
    built$base
  }
})
context_model <- function(name) load_export(context_base(), name)
python_scores <- function(name, signature, data) {
  context_py$served(file.path(context_base(), name, "1"), signature, as.list(data))
}

# Rows of the keyed export with every missing value written out ("" and NaN), as
# Python's raw features take them; known and unknown IDs and categories.
keyed_rows <- data.frame(
  user_id = c("1", "2", "3", "no-such-user", ""),
  item_id = c("3", "5", "", "9", "1"),
  age = c(37, 35, NaN, 29, NaN),
  gender = c("F", "F", "", "M", ""),
  occupation = c("student", "educator", "", "no-such-job", ""),
  genres = c("Action|Animation", "Sci-Fi|Animation", "", "Comedy", ""),
  year = c(1976, 1986, NaN, 1990, NaN),
  hour = c("20", "8", "", "3", ""),
  weekday = c("4", "5", "", "1", ""),
  stringsAsFactors = FALSE)

# The first rows of the Criteo file (label, I1..I13, C1..C26; "" where empty) with the
# exported features: I1 and I2 as numbers (NA where empty), C1 and C2 as strings.
criteo_rows <- function(n = 8) {
  raw <- read.delim(file.path(dirname(context_base()), "criteo.tsv"), header = FALSE,
                    colClasses = "character", nrows = n)
  data.frame(label = raw$V1, I1 = as.numeric(raw$V2), I2 = as.numeric(raw$V3),
             C1 = raw$V15, C2 = raw$V16, stringsAsFactors = FALSE)
}

test_that("a data.frame of features is scored with score_features, as in Python", {
  model <- context_model("fm_ctr")
  expect_true(all(c("score_features", "score", "recommend") %in%
                    export_signatures(model)$signature))
  scored <- score(model, keyed_rows)
  expect_identical(names(scored), c(names(keyed_rows), "score"))
  expect_identical(scored[names(keyed_rows)], keyed_rows)
  expect_equal(scored$score, unlist(python_scores("fm_ctr", "score_features", keyed_rows)),
               tolerance = 1e-6)
  expect_true(all(scored$score > 0 & scored$score < 1))
  # The columns may come in any order, among others; one row is a batch of one.
  shuffled <- cbind(rating = 5, keyed_rows[rev(names(keyed_rows))])
  expect_identical(score(model, shuffled)$score, scored$score)
  expect_equal(score(model, keyed_rows[2, ])$score, scored$score[2], tolerance = 1e-6)
})

test_that("NA in character, factor and numeric columns is the features' missing value", {
  model <- context_model("fm_ctr")
  with_na <- keyed_rows
  for (column in c("item_id", "gender", "occupation", "genres", "hour", "weekday")) {
    with_na[[column]][with_na[[column]] == ""] <- NA
  }
  with_na$user_id <- factor(c("1", "2", "3", "no-such-user", NA))
  with_na$gender <- factor(with_na$gender)
  with_na$age <- c(37L, 35L, NA, 29L, NA)
  with_na$year[3] <- NA
  expect_identical(score(model, with_na)$score, score(model, keyed_rows)$score)
})

test_that("a list column of genres equals the values joined by '|'", {
  model <- context_model("fm_ctr")
  listed <- keyed_rows
  listed$genres <- list(c("Action", "Animation"), factor(c("Sci-Fi", "Animation")),
                        character(0), c("Comedy", NA), NA_character_)
  expect_identical(score(model, listed)$score, score(model, keyed_rows)$score)
  expect_identical(feature_spec(model, "genres"), list(kind = "multi_valued", separator = "|"))
  # Categories given as numbers are written as Python writes them.
  numbered <- keyed_rows
  numbered$hour <- c(20, 8, NA, 3, NA)
  numbered$weekday <- c(4L, 5L, NA, 1L, NA)
  expect_identical(score(model, numbered)$score, score(model, keyed_rows)$score)
})

test_that("bad feature values are refused by name", {
  model <- context_model("fm_ctr")
  bad <- keyed_rows
  bad$age <- c("37", "thirty", "", "29", NA)
  expect_error(score(model, bad), "numeric feature `age` has a value that is not a number: \"thirty\"")
  bad <- keyed_rows
  bad$gender <- list("F", c("F", "M"), NULL, "M", NA)
  expect_error(score(model, bad), "feature `gender` takes one category per row; row 2 holds 2")
  bad <- keyed_rows
  bad$genres <- list("Action|Comedy", "Comedy", NULL, "Drama", NA)
  expect_error(score(model, bad), "feature `genres` has a value holding its separator '\\|'")
  bad <- keyed_rows
  bad$year <- as.list(bad$year)
  expect_error(score(model, bad), "numeric feature `year` takes one number per row")
})

test_that("an export without IDs scores features only; a missing column is named", {
  model <- context_model("deepfm_criteo")
  expect_setequal(export_signatures(model)$signature, c("score_features", "serving_default"))
  rows <- criteo_rows()
  expect_true(anyNA(rows$I1))
  scored <- score(model, rows)
  explicit <- rows
  explicit$I1[is.na(explicit$I1)] <- NaN
  expect_equal(scored$score, unlist(python_scores("deepfm_criteo", "score_features", explicit)),
               tolerance = 1e-6)
  expect_identical(score(model, explicit)$score, scored$score)
  expect_error(score(model, rows[setdiff(names(rows), "I2")]),
               paste0("`data` needs a column for every input of 'score_features' ",
                      "\\(C1, C2, I1, I2\\); missing: I2$"))
  expect_error(score(model, data.frame(user_id = "1", item_id = "2")),
               "missing: C1, C2, I1, I2$")
})

test_that("a keyed context export scores (user, item) pairs with `score`", {
  model <- context_model("fm_ctr")
  pairs <- data.frame(user_id = c("1", "2", "no-such-user"), item_id = c("3", "9", "5"),
                      stringsAsFactors = FALSE)
  scored <- score(model, pairs)
  expect_identical(names(scored), c("user_id", "item_id", "known", "score"))
  expect_identical(scored$known, c(TRUE, TRUE, FALSE))
  expect_equal(scored$score, unlist(python_scores("fm_ctr", "score", pairs)), tolerance = 1e-6)
  # Some features but not all: still the pairs.
  expect_identical(score(model, cbind(pairs, age = 30, gender = "F")), cbind(
    pairs, age = 30, gender = "F", scored[c("known", "score")]))
  expect_error(score(model, data.frame(user_id = "1", age = 30)), paste0(
    "needs a column for every input of 'score_features' \\(age, gender, genres, hour, ",
    "item_id, occupation, user_id, weekday, year\\); missing: gender, genres, hour, ",
    "item_id, occupation, weekday, year. Or, for 'score', columns user_id, item_id; ",
    "missing: item_id"))
})

test_that("numbers become strings in full, as Python writes them", {
  expect_identical(as_text(c(1e5, 1995, 2.5, NA, -0, Inf)),
                   c("100000", "1995", "2.5", NA, "0", "Inf"))
  expect_identical(as_text(factor(c("b", NA, "a"))), c("b", NA, "a"))
  expect_identical(as_text(c(7L, NA)), c("7", NA))
})
