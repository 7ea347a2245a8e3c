# numpy arrays as R values. Debian's reticulate (1.28) cannot read numpy 2 arrays: it
# hands them back unconverted, and as.numeric() on one overflows R's C stack. These
# methods convert through Python lists instead, so after library(tfdeeprec) py_to_r(),
# as.numeric(), as.vector(), as.array(), ... work on numpy arrays and scalars of numbers,
# bools and strings (other dtypes, such as datetime64, give an R error naming them).

#' Convert numpy arrays to R.
#'
#' `py_to_r()` gives an R value of numpy's shape: a length-1 vector for a 0-d array or
#' a numpy scalar, an array with `dim()` equal to numpy's shape otherwise (same element
#' at the same index). The `as.*` methods convert that value as R does, so
#' `as.vector()` of a matrix is column-major. Types follow reticulate: bool -> logical,
#' integers of up to 32 bits (16 unsigned) -> integer, wider integers and floats ->
#' double, complex -> complex, byte and unicode strings -> character (bytes decoded as
#' UTF-8), object arrays -> character or numbers where every element is one (`None` ->
#' `NA`), else a list.
#'
#' Python calls still return numpy arrays as Python objects (reticulate converts call
#' results in C++, which cannot read numpy 2); convert them with these functions, e.g.
#' `as.numeric(tensor$numpy())`. They replace reticulate's own methods for numpy arrays,
#' which is why loading tfdeeprec reports "Registered S3 methods overwritten".
#'
#' @param x A numpy array or scalar.
#' @param mode,... As for the R generics.
#' @return An R vector, matrix or array.
#' @examples
#' \dontrun{
#' library(tfdeeprec)
#' np <- reticulate::import("numpy", convert = FALSE)
#' x <- np$arange(6L, dtype = "int32")$reshape(2L, 3L)
#' py_to_r(x)        # a 2 x 3 integer matrix
#' as.numeric(x)     # c(0, 3, 1, 4, 2, 5)
#' }
#' @name numpy-conversion
NULL

# reticulate's py_to_r, re-exported so that library(tfdeeprec) is enough to call it.
#' @importFrom reticulate py_to_r
#' @export
reticulate::py_to_r

#' @rdname numpy-conversion
#' @export
py_to_r.numpy.ndarray <- function(x) {
  np <- reticulate::import("numpy", convert = FALSE)
  x <- np$asarray(x)  # an unconverted handle, so nothing below comes back here
  shape <- as.integer(unlist(reticulate::py_to_r(x$shape)))
  values <- numpy_values(x, np)
  if (length(shape) == 0) return(values)
  aperm(array(values, dim = rev(shape)))  # numpy is row-major, R column-major
}

# The elements of `x` in numpy (row-major) order, as one R vector.
numpy_values <- function(x, np) {
  dtype <- x$dtype
  kind <- reticulate::py_to_r(dtype$kind)
  size <- reticulate::py_to_r(dtype$itemsize)
  flat <- x$ravel()
  as_list <- function(a) reticulate::py_to_r(a$tolist())
  switch(kind,
    b = as.logical(unlist(as_list(flat))),
    i = , u = if (size < 4 || (kind == "i" && size == 4)) as.integer(unlist(as_list(flat)))
              else as.double(unlist(as_list(flat$astype("float64")))),
    f = as.double(unlist(as_list(flat$astype("float64")))),
    c = as.complex(unlist(as_list(flat$astype("complex128")))),
    U = as.character(unlist(as_list(flat))),
    S = , O = simplify_elements(reticulate::py_to_r(
      reticulate::py_call(utf8_decoder(), flat$tolist()))),
    stop(sprintf("tfdeeprec: cannot convert numpy dtype '%s' to R",
                 reticulate::py_to_r(dtype$str)), call. = FALSE))
}

# One vector where every element is a single value (None as NA), else the list.
simplify_elements <- function(values) {
  values[vapply(values, is.null, logical(1))] <- NA
  single <- vapply(values, function(v) is.atomic(v) && length(v) == 1, logical(1))
  if (!all(single)) return(values)
  if (length(values) == 0) character(0) else unlist(values)
}

# A Python function that decodes the bytes in a list as UTF-8 and keeps the rest.
utf8_decoder <- function() {
  reticulate::py_eval(
    "lambda v: [x.decode('utf-8') if isinstance(x, bytes) else x for x in v]",
    convert = FALSE)
}

#' @rdname numpy-conversion
#' @export
as.array.numpy.ndarray <- function(x, ...) as.array(reticulate::py_to_r(x), ...)

#' @rdname numpy-conversion
#' @export
as.vector.numpy.ndarray <- function(x, mode = "any") {
  as.vector(reticulate::py_to_r(x), mode)
}

#' @rdname numpy-conversion
#' @export
as.double.numpy.ndarray <- function(x, ...) as.double(reticulate::py_to_r(x))

#' @rdname numpy-conversion
#' @export
as.integer.numpy.ndarray <- function(x, ...) as.integer(reticulate::py_to_r(x))

#' @rdname numpy-conversion
#' @export
as.logical.numpy.ndarray <- function(x, ...) as.logical(reticulate::py_to_r(x))

#' @rdname numpy-conversion
#' @export
as.character.numpy.ndarray <- function(x, ...) as.character(reticulate::py_to_r(x))

#' @rdname numpy-conversion
#' @export
as.matrix.numpy.ndarray <- function(x, ...) as.matrix(reticulate::py_to_r(x), ...)
