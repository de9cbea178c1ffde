# R reference for cox.zph's scaled Schoenfeld residuals and plot.cox.zph's smooth (tests/test_zph_residuals.py).
#
# Usage: Rscript zph_residuals.R in.csv out.csv
#   in.csv:  model, time, status, f1, f2, ... (level place 1..k; empty = factor not in this model)
#   out.csv: model, stat, term, index, value   stat: x | time | y | var | smooth_x | fit | upper | lower | p
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
out <- file(args[2], open = "w")
writeLines("model,stat,term,index,value", out)
emit <- function(model, stat, term, values) {
    text <- ifelse(is.na(values), "NA", sprintf("%.17g", as.numeric(values)))
    writeLines(paste(model, stat, term, seq_along(values), text, sep = ","), out)
}
# plot.cox.zph's curve (survival 3.5-3 cannot return it: no plot = FALSE), its steps written out:
# ns(df = 4, intercept = TRUE) on c(grid, x), least squares by qr, band 2 sqrt(var[i, i] * seval)
smooth <- function(z, i, df = 4, nsmo = 40) {
    xx <- z$x
    pred.x <- seq(from = min(xx), to = max(xx), length = nsmo)
    lmat <- splines::ns(c(pred.x, xx), df = df, intercept = TRUE)
    pmat <- lmat[1:nsmo, ]
    xmat <- lmat[-(1:nsmo), ]
    qmat <- qr(xmat)
    yhat <- pmat %*% qr.coef(qmat, z$y[, i])
    bk <- backsolve(qmat$qr[1:df, 1:df], diag(df))
    seval <- ((pmat %*% (bk %*% t(bk))) * pmat) %*% rep(1, df)
    # the x axis: 8 transformed values mapped to time, rounded, mapped back (NA outside: not drawn)
    indx <- !duplicated(xx)
    apr1 <- approx(xx[indx], z$time[indx], seq(min(xx), max(xx), length = 17)[2 * (1:8)])
    temp <- signif(apr1$y, 2)
    apr2 <- approx(z$time[indx], xx[indx], temp)
    drawn <- !is.na(apr2$y)
    list(x = pred.x, fit = drop(yhat), band = drop(2 * sqrt(z$var[i, i] * seval)),
         axis_at = apr2$y[drawn], axis_months = temp[drawn])
}
for (model in unique(d$model)) {
    m <- d[d$model == model, ]
    factors <- grep("^f", names(m), value = TRUE)
    factors <- factors[colSums(!is.na(m[, factors, drop = FALSE])) > 0]
    for (f in factors) m[[f]] <- factor(m[[f]], levels = sort(unique(m[[f]])))
    fit <- coxph(as.formula(paste("Surv(time, status) ~", paste(factors, collapse = " + "))), data = m,
                 ties = "efron")
    z <- cox.zph(fit, transform = "km")
    emit(model, "x", "", z$x)
    emit(model, "time", "", z$time)
    for (i in seq_along(factors)) {
        term <- factors[i]
        emit(model, "y", term, z$y[, i])
        emit(model, "var", term, z$var[i, i])
        emit(model, "p", term, z$table[term, "p"])
        curve <- smooth(z, i)
        emit(model, "smooth_x", term, curve$x)
        emit(model, "fit", term, curve$fit)
        emit(model, "upper", term, curve$fit + curve$band)
        emit(model, "lower", term, curve$fit - curve$band)
        emit(model, "axis_at", term, curve$axis_at)
        emit(model, "axis_months", term, curve$axis_months)
        emit(model, "coef", term, if (length(fit$assign[[term]]) == 1) coef(fit)[fit$assign[[term]]] else 1)
    }
}
close(out)
