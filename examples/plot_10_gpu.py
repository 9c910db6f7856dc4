"""
Training on a GPU
=================

Every torch model takes skorch's ``device`` parameter: with
``device="cuda"`` the interactions are moved to the GPU once, batches are
slices of those tensors, negatives are sampled there, and ``score_items`` /
``recommend`` score the catalog and take the top k there, in larger chunks.
The results come back as NumPy arrays. This example picks the GPU when there
is one and runs on the CPU otherwise, so it runs anywhere.
"""

# %%
import io
import pickle
import time

import torch

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import MatrixFactorization

device = "cuda" if torch.cuda.is_available() else "cpu"
print("training on", device)

X, _ = make_interactions(n_users=300, n_items=200, random_state=0, return_X_y=True)
X_train, X_test = train_test_split(X, random_state=0)

# %%
# Fit and score on the device
# ---------------------------
# Nothing else changes: the same estimator, the same scorers.
model = MatrixFactorization(
    n_factors=32, lr=0.01, max_epochs=10, batch_size=512, device=device, random_state=0
)
start = time.perf_counter()
model.fit(X_train)
print(f"fit: {time.perf_counter() - start:.2f} s")
print("module parameters on:", next(model.module_.parameters()).device)
print("NDCG@10:", round(get_scorer("ndcg@10")(model, X_test), 3))
item_ids, scores = model.recommend(X_test["user_id"].unique()[:2], k=5)
print(type(item_ids).__name__, item_ids)

# %%
# An unavailable device is refused in ``fit`` with a one-sentence
# ``ValueError`` (never in ``__init__``, so a model configured for a GPU can
# still be built, cloned and inspected on a laptop).
if not torch.cuda.is_available():
    try:
        MatrixFactorization(device="cuda", max_epochs=1).fit(X_train)
    except ValueError as error:
        print(error)

# %%
# A model trained on a GPU loads on a machine without one
# --------------------------------------------------------
# Pickle it as usual. Unpickled where CUDA is not available, it lands on the
# CPU (with a warning) and scores the same.
buffer = io.BytesIO()
pickle.dump(model, buffer)
buffer.seek(0)
restored = pickle.load(buffer)
user = X_test["user_id"].iloc[:1]
same = (restored.recommend(user, k=5)[0] == model.recommend(user, k=5)[0]).all()
print("restored on:", restored.device, "| same ranking:", bool(same))
