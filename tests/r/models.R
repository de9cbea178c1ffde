# R reference for the shipped cohort's Cox models with any number of factors (tests/test_vs_r.py).
#
# Usage: Rscript models.R models.csv out.csv
#   models.csv: model, time, status, then one column per factor f1, f2, ... holding the level's
#               place 1..k (1 = reference; empty = missing or factor not in this model)
#   out.csv:    model, stat, key, value  (key: "<factor>.<level place>.<hr|lo|hi|p>", zph "<factor>"/"global")
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
out <- file(args[2], open = "w")
writeLines("model,stat,key,value", out)
emit <- function(model, stat, key, value) {
    text <- ifelse(is.na(value), "NA", sprintf("%.17g", as.numeric(value)))
    writeLines(paste(model, stat, key, text, sep = ","), out)
}
for (model in unique(d$model)) {
    m <- d[d$model == model, ]
    factors <- grep("^f", names(m), value = TRUE)
    factors <- factors[colSums(!is.na(m[, factors, drop = FALSE])) > 0]
    m <- m[complete.cases(m[, c("time", "status", factors)]), ]
    for (f in factors) m[[f]] <- factor(m[[f]], levels = sort(unique(m[[f]])))
    fit <- coxph(as.formula(paste("Surv(time, status) ~", paste(factors, collapse = " + "))), data = m,
                 ties = "efron")
    s <- summary(fit)$coefficients
    ci <- summary(fit)$conf.int
    for (i in seq_len(nrow(s))) {
        key <- rownames(s)[i]  # e.g. f12: factor f1, level 2
        emit(model, "cox", paste0(key, ".hr"), ci[i, "exp(coef)"])
        emit(model, "cox", paste0(key, ".lo"), ci[i, "lower .95"])
        emit(model, "cox", paste0(key, ".hi"), ci[i, "upper .95"])
        emit(model, "cox", paste0(key, ".p"), s[i, "Pr(>|z|)"])
    }
    emit(model, "cox", "loglik", fit$loglik[2])
    zph <- cox.zph(fit)$table
    for (i in seq_len(nrow(zph))) emit(model, "zph", rownames(zph)[i], zph[i, "p"])
}
close(out)
