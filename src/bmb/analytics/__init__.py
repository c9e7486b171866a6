"""What is computed: cohorts, characterization, rates, comorbidity, stratification, prediction."""
