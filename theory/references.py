"""The papers the derivations and claims reproduce, keyed as they are cited in sources (``[W]``, ``[LL]``, ...)."""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Reference", "REFERENCES", "cited_keys"]


@dataclass(frozen=True)
class Reference:
    """One bibliography entry."""

    key: str
    authors: str
    title: str
    venue: str
    year: int
    arxiv: str = ""

    def text(self) -> str:
        """One line: authors, "title", venue year (arXiv id)."""
        arx = f", arXiv:{self.arxiv}" if self.arxiv else ""
        return f'{self.authors}, "{self.title}", {self.venue} {self.year}{arx}'


REFERENCES: dict[str, Reference] = {r.key: r for r in (
    Reference("W", "B. Woodworth, S. Gunasekar, J. D. Lee, E. Moroshko, P. Savarese, I. Golan, D. Soudry, N. Srebro",
              "Kernel and Rich Regimes in Overparametrized Models", "Conference on Learning Theory (COLT)", 2020,
              "2002.09277"),
    Reference("A", "S. Azulay, E. Moroshko, M. S. Nacson, B. Woodworth, N. Srebro, A. Globerson, D. Soudry",
              "On the Implicit Bias of Initialization Shape: Beyond Infinitesimal Mirror Descent",
              "International Conference on Machine Learning (ICML)", 2021, "2102.09769"),
    Reference("LL", "S. Lippl, J. W. Lindsey",
              "Inductive biases of multi-task learning and finetuning: multiple regimes of feature reuse",
              "Advances in Neural Information Processing Systems (NeurIPS)", 2024, "2310.02396"),
    Reference("DL", "N. Anguita, F. Locatello, A. Saxe, M. Mondelli, F. Mancini, S. Lippl, C. Domin\u00e9",
              "A Theory of How Pretraining Shapes Inductive Bias in Fine-Tuning",
              "International Conference on Machine Learning (ICML)", 2026, "2602.20062"),
    Reference("DT", "D. L. Donoho, J. Tanner",
              "Counting faces of randomly projected polytopes when the projection radically lowers dimension",
              "Journal of the American Mathematical Society", 2009, "math/0607364"),
    Reference("SBG", "G. Shachaf, A. Brutzkus, A. Globerson", "A Theoretical Analysis of Fine-tuning with Linear Teachers",
              "Advances in Neural Information Processing Systems (NeurIPS)", 2021, "2107.01641"),
    Reference("DMM", "D. L. Donoho, A. Maleki, A. Montanari", "Message-passing algorithms for compressed sensing",
              "Proceedings of the National Academy of Sciences (PNAS)", 2009, "0907.3574"),
)}

_KEY = re.compile(r"\[(%s)\]" % "|".join(sorted(REFERENCES, key=len, reverse=True)))


def cited_keys(text: str) -> list[str]:
    """Reference keys cited as ``[KEY]`` in ``text``, in order of first appearance."""
    out: list[str] = []
    for m in _KEY.finditer(text or ""):
        if m.group(1) not in out:
            out.append(m.group(1))
    return out
