"""Agreement between coders: ``stats`` holds the textbook formulas (Cohen's, Fleiss' kappa,
Krippendorff's alpha) over rows of a coded-segments table; ``project`` gathers a project's
decisions into such rows."""

from .stats import (
                    AgreementReport,
                    AgreementStats,
                    Disagreement,
                    agreement_report,
                    cohen_kappa,
                    format_report,
                    report_to_dict,
)

__all__ = ["AgreementReport", "AgreementStats", "Disagreement", "agreement_report",
           "cohen_kappa", "format_report", "report_to_dict"]
