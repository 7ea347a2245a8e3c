# Every model family exported by Python, loaded from R: the same numbers as Python.

for (name in names(fixture$models)) {
  local({
    case <- fixture$models[[name]]
    test_that(paste(name, "scores equal Python's, unknown IDs get the fallback"), {
      model <- load_export(fixture$base, name)
      pairs <- data.frame(user_id = unlist(case$pairs$user_id),
                          item_id = unlist(case$pairs$item_id), stringsAsFactors = FALSE)
      scored <- score(model, pairs)
      known <- unlist(case$known)
      expect_equal(scored$known, known)
      expect_equal(scored$score[known], unlist(case$keras_score)[known], tolerance = 1e-6)
      expect_equal(scored$score, unlist(case$served_score), tolerance = 1e-6)
    })
    test_that(paste(name, "recommendations equal Python's"), {
      model <- load_export(fixture$base, name)
      rec <- case$recommend
      exclude <- lapply(rec$exclude, function(x) as.character(unlist(x)))
      got <- recommend(model, unlist(rec$user_id), k = rec$k, exclude = exclude)
      expected_items <- unlist(rec$item_ids)
      expected_scores <- unlist(rec$scores)
      expect_equal(got$item_id, expected_items[expected_items != ""])
      expect_equal(got$score, expected_scores[expected_items != ""], tolerance = 1e-6)
      expect_equal(got$rank, rep(seq_len(rec$k), length(rec$user_id)))
      for (u in seq_along(exclude)) {
        expect_false(any(got$item_id[got$user_id == rec$user_id[[u]]] %in% exclude[[u]]))
      }
    })
  })
}

test_that("metadata and signatures are readable", {
  model <- load_export(fixture$base, "neumf_implicit")
  expect_equal(model$version, 1L)
  expect_equal(export_metadata(model)$task, "implicit")
  sigs <- export_signatures(model)
  expect_true(all(c("score", "recommend", "serving_default") %in% sigs$signature))
  expect_match(sigs$inputs[sigs$signature == "recommend"], "k:int32")
})

test_that("missing exports, versions and signatures give clear R errors", {
  expect_error(load_export(fixture$base, "no_such_model"), "no exported model 'no_such_model'")
  expect_error(load_export(fixture$base, "mf_rating", version = 9), "has no version 9")
  model <- load_export(fixture$base, "mf_rating")
  expect_error(signature(model, "classify"), "has no signature 'classify'")
  expect_error(score(model, data.frame(user = "1")), "missing: user_id, item_id")
  expect_error(recommend(model, "1", k = 0), "Received: k=0")
})

test_that("the recommendation script prints a top-10 from a Python export", {
  script <- normalizePath(file.path("..", "..", "scripts", "recommend_export.R"))
  output <- system2(file.path(R.home("bin"), "Rscript"),
                    c(script, fixture$base, "neumf_implicit", "1"), stdout = TRUE, stderr = TRUE)
  expect_null(attr(output, "status"))
  expect_true(any(grepl("top-10 for user 1", output)))
  expect_equal(sum(grepl("^ *[0-9]+ +[0-9]+ +[0-9.]+$", output)), 10)
})

test_that("a single pair and a single user are scored and recommended", {
  model <- load_export(fixture$base, "mf_implicit")
  one <- score(model, data.frame(user_id = "1", item_id = "5"))
  expect_equal(nrow(one), 1)
  expect_equal(nrow(recommend(model, "2", k = 3)), 3)
})

# Two-tower retrieval: the brute-force export (stock ops), its ScaNN twin and the query
# tower, loaded from R.
tt <- fixture$two_tower

expect_recommendations <- function(got, rec) {
  expected_items <- unlist(rec$item_ids)
  expected_scores <- unlist(rec$scores)
  expect_equal(got$item_id, expected_items[expected_items != ""])
  expect_equal(got$score, expected_scores[expected_items != ""], tolerance = 1e-6)
}

test_that("the two-tower brute-force export scores and recommends as in Python", {
  model <- load_export(fixture$base, "two_tower")
  expect_equal(export_metadata(model)$task, "retrieval")
  expect_equal(export_metadata(model)$retrieval$index, "brute_force")
  pairs <- data.frame(user_id = unlist(tt$pairs$user_id),
                      item_id = unlist(tt$pairs$item_id), stringsAsFactors = FALSE)
  scored <- score(model, pairs)
  known <- unlist(tt$known)
  expect_equal(scored$known, known)
  expect_equal(scored$score[known], unlist(tt$dot)[known], tolerance = 1e-5)
  expect_equal(scored$score, unlist(tt$two_tower$served_score), tolerance = 1e-6)
  rec <- tt$two_tower$recommend
  exclude <- lapply(rec$exclude, function(x) as.character(unlist(x)))
  got <- recommend(model, unlist(rec$user_id), k = rec$k, exclude = exclude)
  expect_recommendations(got, rec)
  for (u in seq_along(exclude)) {
    expect_false(any(got$item_id[got$user_id == rec$user_id[[u]]] %in% exclude[[u]]))
  }
})

test_that("the ScaNN twin loads where ScaNN is installed and answers as in Python", {
  skip_if_not(reticulate::py_module_available("scann"), "ScaNN is not installed")
  model <- load_export(fixture$base, "two_tower_scann")
  expect_equal(export_metadata(model)$retrieval$index, "scann")
  rec <- tt$two_tower_scann$recommend
  exclude <- lapply(rec$exclude, function(x) as.character(unlist(x)))
  expect_recommendations(recommend(model, unlist(rec$user_id), k = rec$k,
                                   exclude = exclude), rec)
})

test_that("without ScaNN's ops, loading the ScaNN twin names the brute-force twin", {
  old <- options(tfdeeprec.scann_ops_module = "no_such_scann_module")
  on.exit(options(old))
  expect_error(load_export(fixture$base, "two_tower_scann"),
               "uses ScaNN's TensorFlow ops.*scann==1.4.2.*brute-force twin 'two_tower'")
  expect_s3_class(load_export(fixture$base, "two_tower"), "tfdeeprec_export")
})

test_that("the query tower export embeds users as in Python", {
  model <- load_export(fixture$base, "two_tower_query_tower")
  expect_true(all(c("embed", "item_embedding") %in% export_signatures(model)$signature))
  out <- call_signature(model, "embed", user_id = "1")
  expect_equal(dim(out$embedding), c(1L, length(tt$embedding[[1]])))
  expect_equal(as.vector(out$embedding), unlist(tt$embedding[[1]]), tolerance = 1e-6)
})
