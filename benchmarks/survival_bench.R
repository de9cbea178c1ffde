# Times the Kaplan-Meier, log-rank and Cox computations of `results` with R's
# survival package, on the analysis data that benchmarks/run.py exported.
#   Rscript benchmarks/survival_bench.R analysis.csv spec.txt
# spec.txt: endpoints / log-rank factors / Cox candidates / selected factors per
# endpoint ("-" for none), one space-separated line each; levels.tsv beside it:
# factor, then its levels in plan order (the first is the Cox reference).
# Prints "km <seconds>", "logrank <seconds>", "cox <seconds>" (elapsed time).
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
spec <- strsplit(readLines(args[2]), " ")
endpoints <- spec[[1]]; logrank_factors <- spec[[2]]; candidates <- spec[[3]]
selected <- setNames(spec[4:(3 + length(endpoints))], endpoints)
d <- read.csv(args[1], stringsAsFactors = FALSE, check.names = FALSE)
levels_file <- file.path(dirname(args[2]), "levels.tsv")
for (line in strsplit(readLines(levels_file, encoding = "UTF-8"), "\t")) {
  d[[line[1]]] <- factor(d[[line[1]]], levels = line[-1])
}
elapsed <- function(expr) { t <- proc.time(); force(expr); (proc.time() - t)[["elapsed"]] }

km <- 0; lr <- 0; cx <- 0
for (e in endpoints) {
  y <- Surv(d[[paste0(e, "_months")]], d[[paste0(e, "_event")]])
  km <- km + elapsed({
    fit <- survfit(y ~ 1, conf.type = "log-log")
    s <- summary(fit, times = c(12, 24, 36), extend = TRUE)
    for (f in logrank_factors) {
      g <- survfit(y ~ d[[f]], conf.type = "log-log")
      s <- summary(g, times = c(12, 24, 36), extend = TRUE)
    }
  })
  lr <- lr + elapsed({
    for (f in logrank_factors) survdiff(y ~ d[[f]])
  })
  cx <- cx + elapsed({
    for (f in candidates) coxph(y ~ d[[f]], ties = "efron")
    chosen <- selected[[e]]
    if (!identical(chosen, "-")) {
      m <- coxph(as.formula(paste("y ~", paste(sprintf("`%s`", chosen), collapse = " + "))), data = d, ties = "efron")
      cox.zph(m, transform = "rank")
    }
  })
}
cat("km", km, "\n"); cat("logrank", lr, "\n"); cat("cox", cx, "\n")
