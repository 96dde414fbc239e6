"""A demo company: realistic customer data in eight systems, with the truth about who is who.

`generate_company(folder)` writes the data, a `truth.csv` and a commented `c360.yaml`; see
`generator` for what each file holds.
"""

from c360.demo.generator import DemoTruth, generate_company

__all__ = ["DemoTruth", "generate_company"]
