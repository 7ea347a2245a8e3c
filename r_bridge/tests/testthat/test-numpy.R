# numpy arrays reach R users as R values (reticulate 1.28 cannot convert numpy 2 itself).

np <- reticulate::import("numpy", convert = FALSE)

# `values` (numpy order) in an R array of `shape`: element (i, j, ...) is at numpy's
# row-major offset sum((i - 1) * stride_i) + 1.
row_major <- function(values, shape) {
  if (length(shape) == 0) return(values[1])
  index <- as.matrix(expand.grid(lapply(shape, seq_len)))
  strides <- rev(cumprod(c(1, rev(shape)[-length(shape)])))
  array(values[(index - 1) %*% strides + 1], shape)
}

# A numpy array of `shape` from the first prod(shape) values (built with `make`).
numpy_array <- function(make, values, shape) {
  if (length(shape) == 0) return(make(values[1]))
  make(values[seq_len(prod(shape))])$reshape(as.list(shape))
}

shapes <- list(integer(0), 6L, c(2L, 3L), c(2L, 1L, 3L))
words <- c("a", "\u00e9t\u00e9", "", "xyz", "\u00fc", "b")
kinds <- list(
  float32 = list(values = c(1.5, -2.25, 0, 3e6, -0.5, 8), numpy = "float32"),
  float64 = list(values = c(0.1, -1e300, Inf, 0, 2, -3), numpy = "float64"),
  int32 = list(values = c(7L, -2147483647L, 0L, 1L, 2L, 3L), numpy = "int32"),
  int64 = list(values = c(2^40, -3, 0, 1, 2^53, 5), numpy = "int64"),
  uint8 = list(values = c(255L, 0L, 1L, 2L, 3L, 4L), numpy = "uint8"),
  bool = list(values = c(TRUE, FALSE, TRUE, TRUE, FALSE, FALSE), numpy = "bool"),
  unicode = list(values = words, make = function(v) np$array(v)),
  bytes = list(values = words, make = function(v) np$char$encode(np$array(v), "utf-8")),
  object_bytes = list(values = words, make = function(v) {
    np$char$encode(np$array(v), "utf-8")$astype("O")
  }),
  object_str = list(values = words, make = function(v) np$array(v)$astype("O")))

for (kind in names(kinds)) {
  local({
    case <- kinds[[kind]]
    make <- if (is.null(case$make)) function(v) np$array(v, dtype = case$numpy) else case$make
    test_that(paste(kind, "arrays of 0 to 3 dimensions convert with their shape and values"), {
      for (shape in shapes) {
        x <- numpy_array(make, case$values, shape)
        expected <- row_major(case$values, shape)
        expect_identical(py_to_r(x), expected)
        expect_identical(dim(py_to_r(x)), if (length(shape)) shape else NULL)
        expect_identical(as.vector(x), as.vector(expected))
        expect_identical(as.array(x), as.array(expected))
        suppressWarnings({  # "NAs introduced by coercion" for strings, as in R
          expect_identical(as.numeric(x), as.numeric(expected))
          expect_identical(as.integer(x), as.integer(expected))
        })
        expect_identical(as.character(x), as.character(expected))
        expect_identical(as.logical(x), as.logical(expected))
        expect_identical(as.matrix(x), as.matrix(expected))
      }
    })
  })
}

test_that("an export's scores arrive with as.numeric(...$numpy()), as users write it", {
  case <- fixture$models$neumf_implicit
  path <- file.path(fixture$base, "neumf_implicit", "1")
  for (convert in c(TRUE, FALSE)) {
    tf <- reticulate::import("tensorflow", convert = convert)
    m <- tf$saved_model$load(path)
    scores <- as.numeric(m$signatures$serving_default(
      user_id = tf$constant(unlist(case$pairs$user_id)),
      item_id = tf$constant(unlist(case$pairs$item_id)))[["score"]]$numpy())
    expect_equal(scores, unlist(case$served_score), tolerance = 1e-6)
  }
})

test_that("converting does not recurse, also for numpy scalars and converting modules", {
  converting <- reticulate::import("numpy", convert = TRUE)
  expect_identical(py_to_r(converting$zeros(list(2L, 3L), dtype = "int32")), matrix(0L, 2, 3))
  expect_identical(py_to_r(np$float32(1.5)), 1.5)
  expect_identical(as.numeric(np$int64(3L)), 3)
  expect_identical(as.character(np$str_("x")), "x")
  expect_identical(py_to_r(np$zeros(list(0L, 3L))), matrix(numeric(0), 0, 3))
  expect_identical(py_to_r(np$array(character(0))$astype("S")), array(character(0), 0L))
  expect_identical(py_to_r(np$array(list(1L, NULL, 2.5), dtype = "O")), array(c(1, NA, 2.5)))
})
