python <- Sys.getenv("RETICULATE_PYTHON", unset = "")
if (!nzchar(python)) python <- normalizePath(file.path("..", "..", "..", ".venv", "bin", "python"))
tfdeeprec_use_python(python)
