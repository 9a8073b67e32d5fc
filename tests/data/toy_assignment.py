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
# probe: {secret: [0, 999999]}

# %% tags=["parameters"]
seed = 0
n = 5
scale = 1.0
probe = 7                  # secret: only the teacher's runs and the grader know a student's

# %%
import numpy as np

x = np.random.default_rng(seed).normal(size=n) * scale

# %% [raw]
# # BEGIN QUESTION
# name: square_sum
# points: 2
# shortcuts:
#   - name: the sum of absolute values
#     replace: [["np.sum(x ** 2)", "np.sum(np.abs(x))"]]

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
round(square_sum, 4), round(square_sum * (probe % 97 + 1), 2)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: triangle
# points: 2
# reference: [math.comb]
# shortcuts:
#   - name: one short
#     replace: [["range(1, k + 1)", "range(1, k)"]]

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
triangle(n), triangle(3 + probe % 50)

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION
