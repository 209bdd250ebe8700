"""The Gaussian hypergeometric series needed by the Pareto/NBD likelihood.

The Pareto/NBD likelihood contains ``2F1(r+s+x, b; r+s+x+1; z)`` with
``0 <= z < 1``. After Euler's transformation it becomes a multiple of

.. math:: S(p, q, z) = {}_2F_1(1, p; q; z) = \\sum_{k \\ge 0} \\frac{(p)_k}{(q)_k} z^k,
   \\qquad 0 < p < q,

whose terms are all positive and shrink by at least a factor ``z`` each, so
summing them is free of cancellation and converges for every ``z < 1``.
``scipy.special.hyp2f1`` returns NaN or loses digits for large ``p`` with
``z`` near 1 (heavy buyers, far-apart ``alpha`` and ``beta``), which is why
the series is summed here, together with its derivatives in ``p``, ``q`` and
``z`` for the analytic gradient. Very close to ``z = 1`` the Pareto/NBD
switches to quadrature (see ``paretonbd._log_death_segment``).

:func:`hyp2f1_power_series` sums the plain series of ``2F1(a, b; c; z)`` for
the BG/NBD expectations, reporting how much its first terms cancel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Relative accuracy asked of the series and of its derivatives.
_RELATIVE_TOLERANCE = 1e-16
#: Terms are generated in 2-D blocks (rows x terms) so that a slowly converging
#: row costs numpy calls per block rather than per term. Blocks start small and
#: grow with the number of terms already summed, within a memory budget.
_FIRST_BLOCK = 8
#: Memory budget of one 2-D block of terms, in bytes (float64 elements: 1 << 20).
#: Inputs are split into row chunks small enough that even the widest block (the
#: first, up to ``_WIDEST_FIRST_BLOCK`` terms, or the minimum block) stays within it,
#: so the budget holds for any number of rows (a minimum block of 8 terms on 2.4M rows
#: used to take 150 MB per temporary, a first block of 256 terms 4.8 GB).
BLOCK_BYTES = 8 << 20
_BLOCK_ELEMENTS = BLOCK_BYTES // 8
_WIDEST_FIRST_BLOCK = 256
#: Past this many terms (z > 1 - 1e-5 or so) the series is deemed impractical.
_MAX_TERMS = 4_000_000


@dataclass(frozen=True)
class SeriesValue:
    """Value of ``S(p, q, z)`` and its partial derivatives, elementwise."""

    value: np.ndarray
    d_p: np.ndarray
    d_q: np.ndarray
    d_z: np.ndarray


def hyp2f1_one(p, q, z, max_terms: int = _MAX_TERMS) -> SeriesValue:
    """Sum ``2F1(1, p; q; z)`` and its derivatives for ``0 < p < q``, ``0 <= z < 1``.

    Parameters
    ----------
    p, q, z : array_like
        Broadcastable arrays.
    max_terms : int
        Give up (``FloatingPointError``) past this many terms.

    Returns
    -------
    SeriesValue
        ``S`` and ``dS/dp``, ``dS/dq``, ``dS/dz``.

    Raises
    ------
    FloatingPointError
        If ``z`` is so close to 1 that more than a few million terms would be
        needed.
    """
    p, q, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (p, q, z)))
    shape = p.shape
    p, q, z = p.ravel(), q.ravel(), z.ravel()
    if np.any(~(z >= 0.0) | ~(z < 1.0)):
        raise ValueError("hyp2f1_one needs 0 <= z < 1")
    _refuse_hopeless_rows(p, q, z, max_terms)
    rows = _BLOCK_ELEMENTS // _WIDEST_FIRST_BLOCK
    if z.size > rows:
        parts = [hyp2f1_one(p[i : i + rows], q[i : i + rows], z[i : i + rows], max_terms) for i in range(0, z.size, rows)]
        return SeriesValue(*(np.concatenate([getattr(part, name) for part in parts]).reshape(shape) for name in ("value", "d_p", "d_q", "d_z")))

    total = np.ones_like(z)  # the k = 0 term
    d_p = np.zeros_like(z)
    d_q = np.zeros_like(z)
    d_z = np.zeros_like(z)

    active = np.arange(z.size)
    term = np.ones_like(z)  # current term t_k of the active rows
    harmonic_p = np.zeros_like(z)  # sum_{j<k} 1/(p+j): d log t_k / dp
    harmonic_q = np.zeros_like(z)
    k = 0
    while active.size:
        if k == 0:
            block = _first_block(z)
        else:
            block = int(np.clip(k, _FIRST_BLOCK, max(_FIRST_BLOCK, _BLOCK_ELEMENTS // active.size)))
        offsets = np.arange(block, dtype=float)
        if k >= max_terms:
            raise FloatingPointError(
                "hypergeometric series needs more than "
                f"{max_terms} terms (z = {z[active].max():.12f}); the parameters are extreme"
            )
        pa, qa, za = p[active, None], q[active, None], z[active, None]
        j = k + offsets
        ratio_pq = (pa + j) / (qa + j)  # t_{j+1} / (z t_j)
        step = za * ratio_pq
        cumulative = np.cumprod(step, axis=1)
        before = np.concatenate([np.ones((active.size, 1)), cumulative[:, :-1]], axis=1)
        t0 = term[active, None]
        new_terms = t0 * cumulative  # t_{k+1} .. t_{k+B}
        # t_{m}/z without dividing by z, so z = 0 (alpha == beta) is exact.
        new_terms_over_z = t0 * before * ratio_pq
        hp = harmonic_p[active, None] + np.cumsum(1.0 / (pa + j), axis=1)
        hq = harmonic_q[active, None] + np.cumsum(1.0 / (qa + j), axis=1)
        m = k + 1 + offsets  # index of each new term

        total[active] += new_terms.sum(axis=1)
        d_p[active] += (new_terms * hp).sum(axis=1)
        d_q[active] -= (new_terms * hq).sum(axis=1)
        d_z[active] += (m * new_terms_over_z).sum(axis=1)

        last = new_terms[:, -1]
        term[active] = last
        harmonic_p[active] = hp[:, -1]
        harmonic_q[active] = hq[:, -1]
        k += block

        # Later terms shrink at least geometrically with ratio z, so the tail
        # of sum k t_k is below last * (k + 1/(1-z)) / (1-z).
        one_minus_z = 1.0 - z[active]
        tail_bound = last * (k + 1.0 / one_minus_z) / one_minus_z
        done = tail_bound <= _RELATIVE_TOLERANCE * total[active]
        done |= last == 0.0
        active = active[~done]

    return SeriesValue(
        value=total.reshape(shape),
        d_p=d_p.reshape(shape),
        d_q=d_q.reshape(shape),
        d_z=d_z.reshape(shape),
    )


def _refuse_hopeless_rows(p: np.ndarray, q: np.ndarray, z: np.ndarray, max_terms: int) -> None:
    """Raise before summing when some row certainly needs more than ``max_terms`` terms.

    Each term is at least ``z p / q`` times the one before (the ratio ``z (p+j)/(q+j)``
    grows with ``j`` towards ``z``), and the sum is at most ``1 / (1 - z)``, so a row
    needs at least ``log(tol (1 - z)) / log(z p / q)`` terms. On the Pareto/NBD's ridge
    (``s`` and ``beta`` huge together) that bound is in the millions: summing would take
    many seconds before giving up.
    """
    ratio = z * p / q
    hard = ratio > 0.5  # the rest converge within ~60 terms
    if not hard.any():
        return
    with np.errstate(divide="ignore"):
        needed = np.log(_RELATIVE_TOLERANCE * (1.0 - z[hard])) / np.log(ratio[hard])
    if np.any(needed > max_terms):
        raise FloatingPointError(
            f"hypergeometric series needs more than {max_terms} terms (z = {z[hard].max():.12f}); the parameters are extreme"
        )


def _first_block(z: np.ndarray) -> int:
    """Terms that settle nine rows in ten at once: t_k <= z^k reaches the tolerance."""
    typical = float(np.quantile(z, 0.9)) if z.size else 0.0
    if typical <= 0.0:
        return _FIRST_BLOCK
    needed = np.log(_RELATIVE_TOLERANCE) / np.log(typical)
    return int(np.clip(np.ceil(needed), _FIRST_BLOCK, _WIDEST_FIRST_BLOCK))


def hyp2f1_power_series(a, b, c, z) -> tuple[np.ndarray, np.ndarray]:
    """Sum the power series of ``2F1(a, b; c; z)`` for real parameters and ``0 <= z < 1``.

    Used where the terms have a fixed sign after the first few (the BG/NBD
    expectations); the second return value measures the cancellation among
    those first terms.

    Parameters
    ----------
    a, b, c : array_like
        Real parameters; ``c`` must not be zero or a negative integer.
    z : array_like
        Argument in ``[0, 1)``.

    Returns
    -------
    value : ndarray
        The sum.
    cancellation : ndarray
        Largest term magnitude over the magnitude of the sum (1 when all
        terms are positive); digits lost are about ``log10`` of it.

    Raises
    ------
    FloatingPointError
        If ``z`` is so close to 1 that more than a few million terms would be
        needed.
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    shape = z.shape
    a, b, c, z = a.ravel(), b.ravel(), c.ravel(), z.ravel()
    if np.any(~(z >= 0.0) | ~(z < 1.0)):
        raise ValueError("hyp2f1_power_series needs 0 <= z < 1")
    if np.any((c <= 0) & (c == np.round(c))):
        raise ValueError("c must not be zero or a negative integer")
    rows = _BLOCK_ELEMENTS // (_FIRST_BLOCK * 4)
    if z.size > rows:
        parts = [hyp2f1_power_series(a[i : i + rows], b[i : i + rows], c[i : i + rows], z[i : i + rows]) for i in range(0, z.size, rows)]
        return tuple(np.concatenate([part[k] for part in parts]).reshape(shape) for k in (0, 1))

    total = np.ones_like(z)
    largest = np.ones_like(z)
    term = np.ones_like(z)
    # The term ratio (a+k)(b+k)/((c+k)(k+1)) z is monotone in k only past the
    # parameters' magnitudes: no stopping before that.
    first_check = np.ceil(np.maximum.reduce([np.abs(a), np.abs(b), np.abs(c)])) + 2.0
    active = np.arange(z.size)
    k = 0
    while active.size:
        if k >= _MAX_TERMS:
            raise FloatingPointError(
                f"hypergeometric series needs more than {_MAX_TERMS} terms (z = {z[active].max():.12f})"
            )
        block = int(np.clip(k, _FIRST_BLOCK * 4, max(_FIRST_BLOCK * 4, _BLOCK_ELEMENTS // active.size)))
        j = k + np.arange(block, dtype=float)
        aa, bb, cc, zz = a[active, None], b[active, None], c[active, None], z[active, None]
        ratio = (aa + j) * (bb + j) / ((cc + j) * (j + 1.0)) * zz
        new_terms = term[active, None] * np.cumprod(ratio, axis=1)
        total[active] += new_terms.sum(axis=1)
        largest[active] = np.maximum(largest[active], np.abs(new_terms).max(axis=1))
        last = new_terms[:, -1]
        term[active] = last
        k += block

        next_ratio = np.abs((a[active] + k) * (b[active] + k) / ((c[active] + k) * (k + 1.0))) * z[active]
        bound = np.maximum(next_ratio, z[active])
        with np.errstate(over="ignore", divide="ignore"):
            tail = np.abs(last) * bound / np.maximum(1.0 - bound, 1e-300)
        done = (k >= first_check[active]) & (bound < 1.0) & (tail <= _RELATIVE_TOLERANCE * np.abs(total[active]))
        done |= last == 0.0
        active = active[~done]

    cancellation = largest / np.maximum(np.abs(total), 1e-300)
    return total.reshape(shape), cancellation.reshape(shape)
