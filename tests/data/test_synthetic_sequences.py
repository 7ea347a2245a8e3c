import numpy as np

from tfdeeprec.data.synthetic_sequences import make_markov_sequences
from tfdeeprec.training.experiment import ExperimentConfig, prepare_data


def test_the_oracle_ranks_a_noiseless_chains_successor_first():
    """One successor, no noise: the test item is the validation item's successor except
    where the walk would repeat an item (then it is drawn at random); the oracle's HR@1
    is the share of users whose walk kept to the chain."""
    walks = make_markov_sequences(num_users=300, num_items=40, length=4, successors=1,
                                  noise=0.0, seed=2)
    frame = walks.frame.interactions.sort_values(["user_id", "timestamp"])
    position = {item: i for i, item in enumerate(walks.item_ids)}
    kept = np.mean([walks.item_ids[np.argmax(walks.transitions[position[items[-2]]])]
                    == items[-1] for items in frame.groupby("user_id")["item_id"].apply(list)])
    assert 0.5 < kept < 1.0  # both cases occur
    data = prepare_data(ExperimentConfig(model="markov", split="leave_one_out"), walks.frame)
    metrics = walks.oracle_metrics(data, metrics=("hit",), ks=(1, 10))
    # off the chain every unseen item ties at 0: a lucky pick may add a few hits
    assert kept <= metrics["hit@1"] <= kept + 0.03
