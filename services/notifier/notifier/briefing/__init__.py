"""The internal weekly briefing: last week's disclosures, and how well each channel did."""
