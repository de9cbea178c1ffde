# R reference values for the differential suite (tests/test_vs_r.py).
#
# Usage: Rscript reference.R cohorts.csv out.csv
#   cohorts.csv: cohort, time, status, g, h, k  (g: level 1..k of a factor with k levels, 1 the
#                reference; h: 0/1; empty = missing)
#   out.csv:     cohort, stat, key, value      (long format, value "%.17g" or NA)
# Only R and the survival package are used (no jsonlite): values travel as CSV.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c("character", "numeric", "integer", "integer", "integer", "integer"))
out <- file(args[2], open = "w")
writeLines("cohort,stat,key,value", out)
emit <- function(cohort, stat, key, value) {
    value <- as.numeric(value)
    text <- ifelse(is.na(value), "NA", sprintf("%.17g", value))
    writeLines(paste(cohort, stat, key, text, sep = ","), out)
}
landmarks <- c(12, 24, 36)

# SPSS percentile CI (Klein & Moeschberger Practical Note 3) from a survfit, by its formula
spss_median <- function(fit, p = 0.5, z = qnorm(0.975), tol = sqrt(.Machine$double.eps)) {
    ev <- fit$n.event > 0
    tt <- fit$time[ev]; s <- fit$surv[ev]; se <- (fit$std.err * fit$surv)[ev]
    level <- 1 - p
    reached <- which(s <= level + tol)
    if (length(reached) == 0) return(c(NA, NA, NA))
    tp <- tt[reached[1]]
    low <- which(s <= level - 0.05 + tol)
    up <- which(s >= level + 0.05 - tol)
    if (length(low) == 0) return(c(tp, NA, NA))
    u <- if (length(up)) tt[up[length(up)]] else 0
    su <- if (length(up)) s[up[length(up)]] else 1
    l <- tt[low[1]]; sl <- s[low[1]]
    if (l <= u || !is.finite(se[reached[1]])) return(c(tp, NA, NA))
    sep <- se[reached[1]] / ((su - sl) / (l - u))
    c(tp, max(tp - z * sep, 0), tp + z * sep)
}

# indicators of the non-reference levels that have patients (the project's design)
indicators <- function(g, k) {
    cols <- list()
    for (level in 2:k) if (any(g == level, na.rm = TRUE)) cols[[paste0("g", level)]] <- as.numeric(g == level)
    as.data.frame(cols)
}

fit_cox <- function(cohort, tag, y, G, h = NULL) {
    # G: the factor's indicator matrix, one model term (as cox.zph(terms = TRUE) groups a factor)
    warn <- character(0)
    quiet <- function(expr) withCallingHandlers(expr, warning = function(w) {
        warn <<- c(warn, conditionMessage(w)); invokeRestart("muffleWarning") })
    fit <- if (is.null(h)) quiet(coxph(y ~ G, ties = "efron")) else quiet(coxph(y ~ G + h, ties = "efron"))
    coef <- coef(fit)
    se <- sqrt(diag(fit$var))
    names(coef) <- c(colnames(G), if (!is.null(h)) "h")
    infinite <- rep(0, length(coef))
    hit <- gsub(" ", "", regmatches(warn, regexpr("variable +[0-9, ]+", warn)))
    if (length(hit)) infinite[as.integer(strsplit(sub("variable", "", hit), ",")[[1]])] <- 1
    converged <- !any(grepl("Ran out of iterations", warn))
    emit(cohort, tag, "converged", as.numeric(converged))
    emit(cohort, tag, "loglik_null", fit$loglik[1])
    emit(cohort, tag, "loglik", fit$loglik[2])
    for (j in seq_along(coef)) {
        name <- names(coef)[j]
        emit(cohort, tag, paste0(name, ".infinite"), infinite[j])
        emit(cohort, tag, paste0(name, ".hr"), exp(coef[j]))
        emit(cohort, tag, paste0(name, ".lo"), exp(coef[j] - qnorm(0.975) * se[j]))
        emit(cohort, tag, paste0(name, ".hi"), exp(coef[j] + qnorm(0.975) * se[j]))
        emit(cohort, tag, paste0(name, ".p"), 2 * pnorm(-abs(coef[j] / se[j])))
    }
    # likelihood-ratio P of the factor (all its indicators), as anova(coxph) does
    ll0 <- if (is.null(h)) fit$loglik[1] else coxph(y ~ h, ties = "efron")$loglik[2]
    df <- sum(!is.na(coef[colnames(G)]))
    if (df > 0) emit(cohort, tag, "g.lr_p", pchisq(2 * (fit$loglik[2] - ll0), df, lower.tail = FALSE))
    if (!any(infinite == 1) && converged) {
        zph <- tryCatch(cox.zph(fit), error = function(e) NULL)
        if (!is.null(zph)) {
            tab <- zph$table
            key <- c(G = "g", h = "h", GLOBAL = "global")[rownames(tab)]
            for (i in seq_len(nrow(tab))) emit(cohort, paste0(tag, ".zph"), key[i], tab[i, "p"])
        }
    }
}

for (cohort in unique(d$cohort)) {
    c <- d[d$cohort == cohort, ]
    k <- c$k[1]
    y <- Surv(c$time, c$status)
    fit <- survfit(y ~ 1, conf.type = "log-log")
    for (i in seq_along(fit$time)) {
        emit(cohort, "km.surv", sprintf("%.17g", fit$time[i]), fit$surv[i])
        emit(cohort, "km.se", sprintf("%.17g", fit$time[i]), ifelse(fit$surv[i] > 0, fit$std.err[i] * fit$surv[i], NA))
        emit(cohort, "km.lower", sprintf("%.17g", fit$time[i]), fit$lower[i])
        emit(cohort, "km.upper", sprintf("%.17g", fit$time[i]), fit$upper[i])
    }
    q <- quantile(fit, 0.5)
    emit(cohort, "median.bc", "estimate", q$quantile); emit(cohort, "median.bc", "lo", q$lower)
    emit(cohort, "median.bc", "hi", q$upper)
    sp <- spss_median(fit)
    emit(cohort, "median.spss", "estimate", sp[1]); emit(cohort, "median.spss", "lo", sp[2])
    emit(cohort, "median.spss", "hi", sp[3])
    for (t in landmarks) {
        if (t <= max(c$time)) {
            s <- summary(fit, times = t)
            emit(cohort, "landmark", paste0(t, ".surv"), s$surv); emit(cohort, "landmark", paste0(t, ".lower"), s$lower)
            emit(cohort, "landmark", paste0(t, ".upper"), s$upper)
        }
    }
    # log-rank over the non-empty levels of g, and the trend test with the levels' places as scores
    keep <- !is.na(c$g)
    present <- sort(unique(c$g[keep]))
    if (length(present) >= 2 && sum(c$status[keep]) > 0) {
        sd <- survdiff(Surv(time, status) ~ factor(g), data = c[keep, ])
        emit(cohort, "logrank", "chisq", sd$chisq)
        emit(cohort, "logrank", "p", pchisq(sd$chisq, length(present) - 1, lower.tail = FALSE))
        w <- as.numeric(present)
        v <- drop(t(w) %*% sd$var %*% w)
        if (v > 0) {
            u <- sum(w * (sd$obs - sd$exp))
            emit(cohort, "trend", "chisq", u^2 / v)
            emit(cohort, "trend", "p", pchisq(u^2 / v, 1, lower.tail = FALSE))
        }
    }
    # Cox: univariable on g, and g + h (complete cases)
    if (sum(c$status) > 0) {
        cc <- c[keep, ]
        xg <- indicators(cc$g, k)
        if (ncol(xg) > 0) fit_cox(cohort, "cox.uni", Surv(cc$time, cc$status), as.matrix(xg))
        cc <- c[keep & !is.na(c$h), ]
        xg <- indicators(cc$g, k)
        if (ncol(xg) > 0 && sum(cc$status) > 0 && length(unique(cc$h)) > 1)
            fit_cox(cohort, "cox.multi", Surv(cc$time, cc$status), as.matrix(xg), cc$h)
    }
}
close(out)
