# Signatures driven by the export's metadata: call_signature, score's columns,
# recommend_from_items.

test_that("call_signature converts R inputs by the signature and returns shaped R values", {
  rec <- fixture$models$neumf_rating$recommend
  model <- load_export(fixture$base, "neumf_rating")
  exclude <- lapply(rec$exclude, function(x) as.character(unlist(x)))
  out <- call_signature(model, "recommend", user_id = unlist(rec$user_id), k = rec$k,
                        exclude = exclude)
  expect_setequal(names(out), c("item_ids", "scores"))
  expect_identical(out$item_ids, do.call(rbind, lapply(rec$item_ids, unlist)))
  expect_equal(out$scores, do.call(rbind, lapply(rec$scores, unlist)), tolerance = 1e-6)
  padded <- matrix(c("1", "2", "", "", "3", "", "", ""), ncol = 2, byrow = TRUE)
  again <- call_signature(model, "recommend", user_id = unlist(rec$user_id), k = rec$k,
                          exclude = padded)
  expect_identical(again$item_ids, out$item_ids)
})

test_that("call_signature names what is wrong with the inputs", {
  model <- load_export(fixture$base, "mf_implicit")
  expect_error(call_signature(model, "score", user_id = "1"),
               "takes inputs user_id, item_id \\(missing: item_id; unexpected: \\)")
  expect_error(call_signature(model, "score", user_id = "1", item_id = "2", user = "3"),
               "unexpected: user")
  expect_error(call_signature(model, "recommend", user_id = "1", k = 1:2, exclude = list("")),
               "input `k` takes one value. Received: 2 values")
  expect_error(call_signature(model, "recommend", user_id = "1", k = 1, exclude = "a"),
               "input `exclude` must have 2 dimensions. Received: 1")
  expect_error(call_signature(model, "classify"), "has no signature 'classify'")
})

test_that("score reads its inputs from the SavedModel where the metadata lacks them", {
  model <- load_export(fixture$base, "gmf_implicit")
  pairs <- data.frame(user_id = c("1", "2", "no-such-user"), item_id = c("5", "9", "1"))
  expected <- score(model, pairs)
  model$metadata$signatures <- NULL
  expect_identical(score(model, pairs), expected)
  expect_identical(expected$known, c(TRUE, TRUE, FALSE))
  expect_error(score(model, data.frame(user_id = "1")), "missing: item_id")
})

test_that("recommend_from_items names the signatures of an export without it", {
  model <- load_export(fixture$base, "neumf_implicit")
  expect_error(recommend_from_items(model, c("1", "5"), k = 3),
               paste0("export 'neumf_implicit' has no signature 'recommend_from_items' ",
                      "\\(it has: recommend, recommend_default, score, serving_default\\)"))
  expect_error(recommend_from_items(model, list("1"), exclude = list("2", "3")),
               "one entry per row \\(1\\)")
})

test_that("rows of different lengths are padded at the end", {
  expect_identical(pad_rows(list(c("a", "b"), character(0), "c"), ""),
                   matrix(c("a", "b", "", "", "c", ""), 3, 2, byrow = TRUE))
  expect_identical(pad_rows(list(character(0), character(0)), ""),
                   matrix(character(0), 2, 0))
  expect_identical(pad_rows(list(), ""), matrix(character(0), 0, 0))
  expect_identical(pad_rows(list(1:3, 4L), 0L), matrix(c(1:4, 0L, 0L), 2, 3, byrow = TRUE))
})

test_that("recommend(history = ) is recommend_from_items, and takes one of the two forms", {
  model <- load_export(fixture$base, "neumf_implicit")
  expect_error(recommend(model, "1", history = c("5", "9")), "not both")
  expect_error(recommend(model), "`user_ids` \\(or `history`\\) is required")
  expect_error(recommend(model, history = c("1", "5")),
               "export 'neumf_implicit' has no signature 'recommend_from_items'")
})
