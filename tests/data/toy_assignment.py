# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment: a toy for the classroom's tests
# Two questions on a student's own integer `n` and vector.

# %% [raw]
# # STUDENT VARIANTS
# seed: {integer: [0, 999999]}
# n: {integer: [3, 40]}
# scale: {uniform: [0.5, 2.0]}

# %% tags=["parameters"]
seed = 0
n = 5
scale = 1.0

# %%
import numpy as np

x = np.random.default_rng(seed).normal(size=n) * scale

# %% [raw]
# # BEGIN QUESTION
# name: square_sum
# points: 2

# %% [markdown]
# **The sum of squares.** Set `square_sum` to $\sum_i x_i^2$ as a Python float.

# %% [raw]
# # BEGIN SOLUTION

# %%
square_sum = float(np.sum(x ** 2))  # SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
isinstance(square_sum, float) and square_sum >= 0

# %%
# HIDDEN
round(square_sum, 4)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: triangle
# points: 2

# %% [markdown]
# **Triangle numbers.** Write `triangle(k)` returning $1 + 2 + \dots + k$ as an int.

# %% [raw]
# # BEGIN SOLUTION

# %%
def triangle(k):
    # BEGIN SOLUTION
    total = 0
    for i in range(1, k + 1):
        total += i
    return total
    # END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %%
triangle(1)

# %%
# HIDDEN
triangle(n)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
