"""Column and feature names shared by frames, tf.data dicts and serving signatures.

Each name is defined once here; readers, pipelines, models and exports import it.
"""

USER_ID = "user_id"
ITEM_ID = "item_id"
RATING = "rating"
TIMESTAMP = "timestamp"
LABEL = "label"

# tf.data feature keys built by the pipelines.
POSITIVE_ITEM_ID = "positive_item_id"
NEGATIVE_ITEM_ID = "negative_item_id"
HISTORY = "history"
HISTORY_LENGTH = "history_length"
TARGET_MASK = "target_mask"  # sequence trainers: the positions that have a target
TARGET_ITEM_ID = "target_item_id"
USER_ROW = "user_row"

# Side features parsed from MovieLens (GroupLens, TFDS and RecBole sources alike).
AGE = "age"
GENDER = "gender"
OCCUPATION = "occupation"
ZIP_CODE = "zip_code"
TITLE = "title"
GENRES = "genres"
YEAR = "year"
