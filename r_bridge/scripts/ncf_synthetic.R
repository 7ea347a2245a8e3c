#!/usr/bin/env Rscript
# The classic R keras NCF example, through reticulate and tfdeeprec's Python environment:
# synthetic ratings -> embedding -> concatenate -> dense 20 -> dropout -> dense 10 ->
# dropout -> linear output; Adam + MSE; validation_split = 0.2; MAE and RMSE on a
# held-out split; ggplot2 PNGs of the training history, predicted vs actual and the
# rating distribution.
#
#   Rscript r_bridge/scripts/ncf_synthetic.R [OUT_DIR]     (default: out/r_ncf)
#
# Python: RETICULATE_PYTHON, else ./.venv/bin/python (run `make install` first).

suppressPackageStartupMessages({
  library(reticulate)
  library(ggplot2)
})

args <- commandArgs(trailingOnly = TRUE)
out_dir <- if (length(args) >= 1) args[[1]] else file.path("out", "r_ncf")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

Sys.setenv(TF_USE_LEGACY_KERAS = "1")  # Keras 2 (tf-keras), before TensorFlow loads
python <- Sys.getenv("RETICULATE_PYTHON", unset = file.path(getwd(), ".venv", "bin", "python"))
if (!file.exists(python)) stop("no Python at '", python, "': run `make install` first")
use_python(python, required = TRUE)

tfdeeprec <- suppressWarnings(import("tfdeeprec"))  # (reticulate mistakes pyproject.toml for Poetry)
keras <- import("tf_keras")
np <- import("numpy", convert = FALSE)
data_py <- import("tfdeeprec.data")
keras$utils$set_random_seed(42L)
set.seed(42)

# 1. Synthetic ratings with planted user/item structure (seed_compatible = TRUE gives the
#    old tutorial generator, which has no learnable structure).
synthetic <- data_py$make_synthetic_ratings(num_users = 500L, num_items = 300L, seed = 42L)
columns <- synthetic$frame$interactions$to_dict(orient = "list")
ratings <- data.frame(user = as.character(unlist(columns$user_id)),
                      item = as.character(unlist(columns$item_id)),
                      rating = unlist(columns$rating), stringsAsFactors = FALSE)
cat(sprintf("ratings: %d by %d users of %d items\n", nrow(ratings),
            length(unique(ratings$user)), length(unique(ratings$item))))

# Index IDs 1..n (0 is kept for unknown IDs, as tfdeeprec's vocabularies do).
users <- sort(unique(ratings$user)); items <- sort(unique(ratings$item))
ratings$u <- match(ratings$user, users); ratings$i <- match(ratings$item, items)
held_out <- sample(nrow(ratings), round(0.2 * nrow(ratings)))
train <- ratings[-held_out, ]; test <- ratings[held_out, ]

# 2. The NCF model, layer by layer as in the R keras examples.
layers <- keras$layers
user_in <- layers$Input(shape = list(1L), name = "user")
item_in <- layers$Input(shape = list(1L), name = "item")
user_vec <- layers$Flatten()(layers$Embedding(length(users) + 1L, 50L)(user_in))
item_vec <- layers$Flatten()(layers$Embedding(length(items) + 1L, 50L)(item_in))
x <- layers$Concatenate()(list(user_vec, item_vec))
x <- layers$Dense(20L, activation = "relu")(x)
x <- layers$Dropout(0.2)(x)
x <- layers$Dense(10L, activation = "relu")(x)
x <- layers$Dropout(0.2)(x)
output <- layers$Dense(1L)(x)
model <- keras$Model(inputs = list(user_in, item_in), outputs = output)
model$compile(optimizer = keras$optimizers$Adam(learning_rate = 0.002), loss = "mse",
              metrics = list("mae"))

# 3. Fit with validation_split = 0.2.
as_input <- function(df) list(np$array(df$u, dtype = "int32"), np$array(df$i, dtype = "int32"))
started <- Sys.time()
history <- model$fit(as_input(train), np$array(train$rating, dtype = "float32"),
                     epochs = 40L, batch_size = 128L, validation_split = 0.2, verbose = 0L,
                     callbacks = list(keras$callbacks$EarlyStopping(
                       patience = 3L, restore_best_weights = TRUE)))
seconds <- as.numeric(difftime(Sys.time(), started, units = "secs"))

# 4. MAE and RMSE on the held-out split.
# Through a Python list: this reticulate (1.28) cannot convert numpy 2 arrays itself.
predicted <- unlist(model$predict(as_input(test), verbose = 0L)$ravel()$tolist())
predicted <- pmin(pmax(predicted, 1), 5)
mae <- mean(abs(predicted - test$rating))
rmse <- sqrt(mean((predicted - test$rating)^2))
baseline_rmse <- sqrt(mean((mean(train$rating) - test$rating)^2))
cat(sprintf("held-out split (%d ratings): MAE %.4f, RMSE %.4f (trained %d epochs in %.1f s)\n",
            nrow(test), mae, rmse, length(history$history$loss), seconds))
cat(sprintf("predicting the training mean instead: RMSE %.4f\n", baseline_rmse))

# 5. Plots.
h <- history$history
curves <- rbind(data.frame(epoch = seq_along(h$loss), value = unlist(h$loss), set = "train"),
                data.frame(epoch = seq_along(h$val_loss), value = unlist(h$val_loss),
                           set = "validation"))
ggsave(file.path(out_dir, "training_history.png"),
       ggplot(curves, aes(epoch, value, colour = set)) + geom_line() + geom_point() +
         labs(title = "NCF training history", y = "MSE"), width = 6, height = 4, dpi = 100)
ggsave(file.path(out_dir, "predicted_vs_actual.png"),
       ggplot(data.frame(actual = test$rating, predicted = predicted),
              aes(actual, predicted)) +
         geom_jitter(width = 0.2, height = 0, alpha = 0.3, size = 0.8) +
         geom_abline(slope = 1, intercept = 0, linetype = "dashed") +
         labs(title = sprintf("Held-out: MAE %.3f, RMSE %.3f", mae, rmse)),
       width = 6, height = 4, dpi = 100)
dist <- rbind(data.frame(rating = test$rating, kind = "actual"),
              data.frame(rating = predicted, kind = "predicted"))
ggsave(file.path(out_dir, "rating_distribution.png"),
       ggplot(dist, aes(rating, fill = kind)) +
         geom_histogram(binwidth = 0.25, position = "identity", alpha = 0.5) +
         labs(title = "Rating distribution"), width = 6, height = 4, dpi = 100)
writeLines(jsonlite::toJSON(list(mae = mae, rmse = rmse, baseline_rmse = baseline_rmse,
                                 epochs = length(h$loss),
                                 seconds = seconds), auto_unbox = TRUE),
           file.path(out_dir, "metrics.json"))
cat("wrote", file.path(out_dir, c("training_history.png", "predicted_vs_actual.png",
                                  "rating_distribution.png", "metrics.json")), sep = "\n  ")
