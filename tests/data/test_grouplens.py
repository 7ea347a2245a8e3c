import numpy as np
import pytest

from tfdeeprec.data.errors import DataError
from tfdeeprec.data.grouplens import ML1M_OCCUPATIONS, read_grouplens, split_title_year


def _flags(*genres):
    order = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
             "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
             "Romance", "Sci-Fi", "Thriller", "War", "Western"]
    return "|".join("1" if g in genres else "0" for g in order)


def write_ml100k(folder, *, users=True, items=True):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text(
        "1\t10\t4\t881250949\n2\t10\t3\t881250950\n1\t20\t5\t881250951\n2\t30\t1\t881250952\n")
    if users:
        (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
    if items:
        toy_story = _flags("Animation", "Children's", "Comedy")
        (folder / "u.item").write_bytes((
            f"10|Toy Story (1995)|01-Jan-1995||http://x|{toy_story}\n"
            f"20|Misérables, Les (1994)|01-Jan-1995||http://y|{_flags('Drama', 'Musical')}\n"
            f"30|unknown||||{_flags('unknown')}\n"
        ).encode("latin-1"))
    return folder


def write_ml1m(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text(
        "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
    (folder / "users.dat").write_text(
        "1::F::1::10::48067\n2::M::56::0::70072\n3::M::25::20::55117\n")
    (folder / "movies.dat").write_bytes((
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
        "2::Café au lait (1994)::Comedy\n").encode("latin-1"))
    return folder


class TestReadGroupLens100k:
    def test_interactions_are_typed(self, tmp_path):
        frame = read_grouplens(write_ml100k(tmp_path / "ml-100k"))
        df = frame.interactions
        assert df["user_id"].tolist() == ["1", "2", "1", "2"]
        assert df["item_id"].tolist() == ["10", "10", "20", "30"]
        assert df["rating"].dtype == np.float32 and df["rating"].tolist() == [4, 3, 5, 1]
        assert df["timestamp"].dtype == np.int64 and df["timestamp"].iloc[0] == 881250949

    def test_user_features(self, tmp_path):
        users = read_grouplens(write_ml100k(tmp_path)).users
        assert list(users.columns) == ["age", "gender", "occupation", "zip_code"]
        assert users["age"].dtype == np.int32
        assert users.loc["2"].tolist() == [53, "F", "other", "94043"]
        assert users.index.tolist() == ["1", "2"]

    def test_item_features(self, tmp_path):
        items = read_grouplens(write_ml100k(tmp_path)).items
        assert list(items.columns) == ["title", "genres", "year"]
        assert items["year"].dtype == np.int32
        assert items.loc["10"].tolist() == ["Toy Story", ("Animation", "Children's", "Comedy"),
                                            1995]
        # latin-1 title; the year comes from the release date, not the title's (1994).
        assert items.loc["20"].tolist() == ["Misérables, Les", ("Drama", "Musical"), 1995]
        assert items.loc["30"].tolist() == ["unknown", ("unknown",), 0]

    def test_year_falls_back_to_title(self, tmp_path):
        write_ml100k(tmp_path)
        (tmp_path / "u.item").write_text(f"10|Heat (1995)|||x|{_flags('Action')}\n")
        assert read_grouplens(tmp_path).items.loc["10", "year"] == 1995

    def test_side_files_are_optional(self, tmp_path):
        frame = read_grouplens(write_ml100k(tmp_path, users=False, items=False))
        assert frame.users is None and frame.items is None
        assert frame.num_interactions == 4


class TestReadGroupLens1m:
    def test_all_files(self, tmp_path):
        frame = read_grouplens(write_ml1m(tmp_path / "ml-1m"))
        df = frame.interactions
        assert df["item_id"].tolist() == ["1193", "661", "1193"]
        assert df["rating"].dtype == np.float32 and df["rating"].tolist() == [5, 3, 4]
        assert df["timestamp"].tolist() == [978300760, 978302109, 978298413]
        users = frame.users
        assert list(users.columns) == ["age", "gender", "occupation", "zip_code"]
        assert users.loc["1"].tolist() == [1, "F", "K-12 student", "48067"]
        assert users.loc["2", "occupation"] == "other"
        assert users.loc["3", "occupation"] == "writer"
        assert users["age"].dtype == np.int32
        items = frame.items
        assert items.loc["661"].tolist() == ["James and the Giant Peach",
                                             ("Animation", "Children's", "Musical"), 1996]
        assert items.loc["2"].tolist() == ["Café au lait", ("Comedy",), 1994]
        assert items.loc["1193", "title"] == "One Flew Over the Cuckoo's Nest"

    def test_occupation_table_matches_readme(self):
        assert len(ML1M_OCCUPATIONS) == 21
        assert ML1M_OCCUPATIONS[4] == "college/grad student"
        assert ML1M_OCCUPATIONS[17] == "technician/engineer"


class TestReadGroupLensErrors:
    def test_missing_ratings_file_names_folder_and_files(self, tmp_path):
        with pytest.raises(DataError) as err:
            read_grouplens(tmp_path)
        message = str(err.value)
        assert str(tmp_path) in message and "u.data" in message and "ratings.dat" in message

    def test_bad_occupation_code(self, tmp_path):
        write_ml1m(tmp_path)
        (tmp_path / "users.dat").write_text("1::F::1::21::48067\n")
        with pytest.raises(DataError) as err:
            read_grouplens(tmp_path)
        message = str(err.value)
        assert "users.dat" in message and "occupation" in message and "'21'" in message

    def test_bad_age(self, tmp_path):
        write_ml100k(tmp_path)
        (tmp_path / "u.user").write_text("1|old|M|technician|85711\n")
        with pytest.raises(DataError) as err:
            read_grouplens(tmp_path)
        message = str(err.value)
        assert "u.user" in message and "age" in message and "'old'" in message

    def test_bad_genre_flag(self, tmp_path):
        write_ml100k(tmp_path)
        (tmp_path / "u.item").write_text(f"10|Heat (1995)|||x|2|{_flags()[2:]}\n")
        with pytest.raises(DataError) as err:
            read_grouplens(tmp_path)
        message = str(err.value)
        assert "u.item" in message and "unknown" in message and "'2'" in message

    def test_bad_rating(self, tmp_path):
        (tmp_path / "u.data").write_text("1\t10\tgood\t881250949\n")
        with pytest.raises(DataError) as err:
            read_grouplens(tmp_path)
        message = str(err.value)
        assert "u.data" in message and "rating" in message and "'good'" in message

    @pytest.mark.parametrize("content", ["1\t10\t4\n", "1\t10\t4\t5\t6\n"])
    def test_wrong_field_count(self, tmp_path, content):
        (tmp_path / "u.data").write_text(content)
        with pytest.raises(DataError, match="u.data"):
            read_grouplens(tmp_path)

    def test_short_line(self, tmp_path):
        (tmp_path / "u.data").write_text("1\t10\t4\t881250949\n2\t10\n")
        with pytest.raises(DataError) as err:
            read_grouplens(tmp_path)
        assert "u.data" in str(err.value) and "row 1" in str(err.value)


@pytest.mark.parametrize("title,expected", [
    ("Toy Story (1995)", ("Toy Story", 1995)),
    ("Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)",
     ("Shanghai Triad (Yao a yao yao dao waipo qiao)", 1995)),
    ("Heat (1995) ", ("Heat", 1995)),
    ("unknown", ("unknown", 0)),
    ("Brazil (1985s)", ("Brazil (1985s)", 0)),
])
def test_split_title_year(title, expected):
    assert split_title_year(title) == expected
