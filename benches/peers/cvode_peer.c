/*
 * CVODE peer of benches/peers_wp.py: the full particle ODE of model.md §4 with a compiled C
 * right-hand side, integrated by SUNDIALS CVODE (BDF, Newton) in one of three configurations:
 *
 *   dense     dense Newton matrix, analytic Jacobian J = B + U Vᵀ (below), LU by LAPACK dgetrf
 *             (SUNLinSol_LapackDense compiled from the SUNDIALS 6.4.1 source package; OpenBLAS)
 *   spgmr-bd  matrix-free SPGMR with analytic J·v and the 2×2 block-diagonal preconditioner
 *             P = I − γB (left preconditioning)
 *   spgmr-wb  matrix-free SPGMR with analytic J·v and the exact Newton matrix as preconditioner,
 *             P = I − γ(B + U Vᵀ), applied by the Woodbury identity (the structure `timescales`
 *             solves with), re-evaluated at every preconditioner setup
 *
 * Model (state per particle y = (s_i, a_i), interleaved; K = 5, k = 0..K):
 *   M_k = Σ_i w_i a_i s_i^k,   r_k = φ_k − σ_k M_k,   c_k = σ_k r_k,
 *   P(s) = Σ_k c_k s^k,
 *   ε ȧ_i = P(s_i),            ṡ_i = (1 − s_i²) a_i P'(s_i).
 * Jacobian J = B + U Vᵀ: B is block diagonal (c held fixed), with per particle (q = 1 − s²)
 *   ∂ṡ/∂s = a(−2s P' + q P''),  ∂ṡ/∂a = q P',  ∂ȧ/∂s = P'/ε,  ∂ȧ/∂a = 0;
 * the coupling goes through c: U[ṡ_i, k] = q_i a_i k s_i^{k−1}, U[ȧ_i, k] = s_i^k / ε,
 *   V[s_j, k] = ∂c_k/∂s_j = −σ_k² w_j a_j k s_j^{k−1},  V[a_j, k] = ∂c_k/∂a_j = −σ_k² w_j s_j^k.
 * Newton matrix I − γJ = A + U' Vᵀ with A = I − γB, U' = −γU; Woodbury:
 *   (A + U'Vᵀ)⁻¹ r = x − Z (I + Vᵀ Z)⁻¹ Vᵀ x,  x = A⁻¹ r,  Z = A⁻¹ U'.
 *
 * Usage: cvode_peer CONFIG PROBLEM_FILE RTOL ATOL [MAXL] [EPSLIN]   (defaults: Krylov dimension 10,
 * linear tolerance factor 0.01 — with SUNDIALS' default 0.05 the block-diagonal configuration
 * took 7 432 steps at N = 1024, rtol 1e-8, against 1 500 at 0.01). CVODE_PEER_DQ=1 in the
 * environment makes the dense configuration use CVODE's difference-quotient Jacobian (a check).
 * PROBLEM_FILE (written by peers_wp.py, whitespace separated): ε, the number of output times,
 * the output times (the first is t0 = 0), N, then N pairs (a_i(0), w_i); s_i(0) = 0.
 * Prints one JSON object: solver wall and process CPU time (the CVode calls only; reading the file, allocation and
 * the risk evaluations excluded), CVODE's counters and the risk ½ Σ_k r_k² at every output time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cvode/cvode.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_lapackdense.h>
#include <sunlinsol/sunlinsol_spgmr.h>
#include <sunmatrix/sunmatrix_dense.h>

#define KK 6 /* K + 1 Hermite coefficients */

typedef struct {
  sunindextype n;
  double eps, inv_eps;
  double sigma[KK], phi[KK], sig2[KK];
  double *w;
  double c[KK];      /* c_k at the J·v linearization point (jtsetup) */
  int woodbury;
  double *ainv;      /* 4 per particle: (I − γB_i)⁻¹, row-major */
  double *z;         /* 2·KK per particle: Z rows (ṡ_i then ȧ_i) */
  double *vt;        /* 2·KK per particle: V rows (s_i then a_i) */
  double cinv[KK * KK];
} Data;

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* c_k = σ_k (φ_k − σ_k M_k) from the state; returns nothing, fills c. */
static void coeffs(const Data *d, const double *y, double *c) {
  double m[KK] = {0};
  for (sunindextype i = 0; i < d->n; i++) {
    double s = y[2 * i], wa = d->w[i] * y[2 * i + 1], p = wa;
    for (int k = 0; k < KK; k++) {
      m[k] += p;
      p *= s;
    }
  }
  for (int k = 0; k < KK; k++) c[k] = d->sigma[k] * (d->phi[k] - d->sigma[k] * m[k]);
}

static double risk(const Data *d, const double *y) {
  double c[KK], r = 0.0;
  coeffs(d, y, c);
  for (int k = 0; k < KK; k++) {
    double rk = c[k] / d->sigma[k];
    r += rk * rk;
  }
  return 0.5 * r;
}

/* P, P', P'' at s (Horner). */
static inline void poly(const double *c, double s, double *p, double *dp, double *d2p) {
  double a = c[KK - 1], b = 0.0, e = 0.0;
  for (int k = KK - 2; k >= 0; k--) {
    e = e * s + b;
    b = b * s + a;
    a = a * s + c[k];
  }
  *p = a;
  *dp = b;
  *d2p = 2.0 * e;
}

static int rhs(sunrealtype t, N_Vector yv, N_Vector ydot, void *ud) {
  (void)t;
  Data *d = ud;
  const double *y = N_VGetArrayPointer(yv);
  double *f = N_VGetArrayPointer(ydot), c[KK];
  coeffs(d, y, c);
  for (sunindextype i = 0; i < d->n; i++) {
    double s = y[2 * i], a = y[2 * i + 1], p, dp, d2p;
    poly(c, s, &p, &dp, &d2p);
    f[2 * i] = (1.0 - s * s) * a * dp;
    f[2 * i + 1] = p * d->inv_eps;
  }
  return 0;
}

/* U and V rows of particle i into u[2][KK], v[2][KK]. */
static inline void uv_rows(const Data *d, double s, double a, double w, double *u, double *v) {
  double q = 1.0 - s * s, pk = 1.0, pkm1 = 0.0;
  for (int k = 0; k < KK; k++) {
    double dk = k * pkm1; /* k s^{k−1} */
    u[k] = q * a * dk;
    u[KK + k] = pk * d->inv_eps;
    v[k] = -d->sig2[k] * w * a * dk;
    v[KK + k] = -d->sig2[k] * w * pk;
    pkm1 = pk;
    pk *= s;
  }
}

/* Dense analytic Jacobian, column-major (SUNDenseMatrix). */
static int jac_dense(sunrealtype t, N_Vector yv, N_Vector fy, SUNMatrix J, void *ud, N_Vector t1,
                     N_Vector t2, N_Vector t3) {
  (void)t; (void)fy; (void)t1; (void)t2; (void)t3;
  Data *d = ud;
  const double *y = N_VGetArrayPointer(yv);
  sunindextype n = d->n, m = 2 * n;
  double c[KK];
  coeffs(d, y, c);
  double *u = malloc(sizeof(double) * m * KK), *v = malloc(sizeof(double) * m * KK);
  if (!u || !v) { free(u); free(v); return -1; }
  for (sunindextype i = 0; i < n; i++) {
    double uu[2 * KK], vv[2 * KK];
    uv_rows(d, y[2 * i], y[2 * i + 1], d->w[i], uu, vv);
    memcpy(u + 2 * i * KK, uu, sizeof uu);
    memcpy(v + 2 * i * KK, vv, sizeof vv);
  }
  for (sunindextype col = 0; col < m; col++) {
    double *jc = SM_COLUMN_D(J, col);
    const double *vc = v + col * KK;
    for (sunindextype row = 0; row < m; row++) {
      const double *ur = u + row * KK;
      double acc = 0.0;
      for (int k = 0; k < KK; k++) acc += ur[k] * vc[k];
      jc[row] = acc;
    }
  }
  for (sunindextype i = 0; i < n; i++) {
    double s = y[2 * i], a = y[2 * i + 1], q = 1.0 - s * s, p, dp, d2p;
    poly(c, s, &p, &dp, &d2p);
    SM_ELEMENT_D(J, 2 * i, 2 * i) += a * (-2.0 * s * dp + q * d2p);
    SM_ELEMENT_D(J, 2 * i, 2 * i + 1) += q * dp;
    SM_ELEMENT_D(J, 2 * i + 1, 2 * i) += dp * d->inv_eps;
  }
  free(u);
  free(v);
  return 0;
}

static int jtsetup(sunrealtype t, N_Vector yv, N_Vector fy, void *ud) {
  (void)t; (void)fy;
  Data *d = ud;
  coeffs(d, N_VGetArrayPointer(yv), d->c);
  return 0;
}

/* J·v = B v + [q a Q'(s_i); Q(s_i)/ε], Q(s) = Σ_k δc_k s^k, δc_k = Σ_j V[j, k] v_j. */
static int jtimes(N_Vector vv, N_Vector jv, sunrealtype t, N_Vector yv, N_Vector fy, void *ud,
                  N_Vector tmp) {
  (void)t; (void)fy; (void)tmp;
  Data *d = ud;
  const double *y = N_VGetArrayPointer(yv), *v = N_VGetArrayPointer(vv);
  double *out = N_VGetArrayPointer(jv), dc[KK] = {0};
  for (sunindextype j = 0; j < d->n; j++) {
    double s = y[2 * j], a = y[2 * j + 1], w = d->w[j], vs = v[2 * j], va = v[2 * j + 1];
    double pk = 1.0, pkm1 = 0.0;
    for (int k = 0; k < KK; k++) {
      dc[k] += w * (a * k * pkm1 * vs + pk * va);
      pkm1 = pk;
      pk *= s;
    }
  }
  for (int k = 0; k < KK; k++) dc[k] *= -d->sig2[k];
  for (sunindextype i = 0; i < d->n; i++) {
    double s = y[2 * i], a = y[2 * i + 1], q = 1.0 - s * s, p, dp, d2p, qq, dqq, d2qq;
    poly(d->c, s, &p, &dp, &d2p);
    poly(dc, s, &qq, &dqq, &d2qq);
    out[2 * i] = a * (-2.0 * s * dp + q * d2p) * v[2 * i] + q * dp * v[2 * i + 1] + q * a * dqq;
    out[2 * i + 1] = dp * d->inv_eps * v[2 * i] + qq * d->inv_eps;
  }
  return 0;
}

/* In-place inverse of a KK×KK matrix (Gauss–Jordan, partial pivoting); 1 if singular. */
static int invert(double *a, double *inv) {
  double m[KK][2 * KK];
  for (int i = 0; i < KK; i++)
    for (int j = 0; j < KK; j++) {
      m[i][j] = a[i * KK + j];
      m[i][KK + j] = (i == j);
    }
  for (int col = 0; col < KK; col++) {
    int piv = col;
    for (int r = col + 1; r < KK; r++)
      if (fabs(m[r][col]) > fabs(m[piv][col])) piv = r;
    if (m[piv][col] == 0.0 || !isfinite(m[piv][col])) return 1;
    if (piv != col)
      for (int j = 0; j < 2 * KK; j++) {
        double tmp = m[col][j];
        m[col][j] = m[piv][j];
        m[piv][j] = tmp;
      }
    double inv_p = 1.0 / m[col][col];
    for (int j = 0; j < 2 * KK; j++) m[col][j] *= inv_p;
    for (int r = 0; r < KK; r++)
      if (r != col && m[r][col] != 0.0) {
        double f = m[r][col];
        for (int j = 0; j < 2 * KK; j++) m[r][j] -= f * m[col][j];
      }
  }
  for (int i = 0; i < KK; i++)
    for (int j = 0; j < KK; j++) inv[i * KK + j] = m[i][KK + j];
  return 0;
}

static int psetup(sunrealtype t, N_Vector yv, N_Vector fy, sunbooleantype jok,
                  sunbooleantype *jcur, sunrealtype gamma, void *ud) {
  (void)t; (void)fy; (void)jok;
  Data *d = ud;
  const double *y = N_VGetArrayPointer(yv);
  double c[KK], cap[KK * KK] = {0};
  coeffs(d, y, c);
  for (sunindextype i = 0; i < d->n; i++) {
    double s = y[2 * i], a = y[2 * i + 1], q = 1.0 - s * s, p, dp, d2p;
    poly(c, s, &p, &dp, &d2p);
    /* A_i = I − γB_i = [[1 − γ b_ss, −γ b_sa], [−γ b_as, 1]] */
    double a00 = 1.0 - gamma * a * (-2.0 * s * dp + q * d2p), a01 = -gamma * q * dp;
    double a10 = -gamma * dp * d->inv_eps, a11 = 1.0;
    double det = a00 * a11 - a01 * a10;
    if (det == 0.0 || !isfinite(det)) return 1; /* recoverable: CVODE cuts the step */
    double *ai = d->ainv + 4 * i, id = 1.0 / det;
    ai[0] = a11 * id;
    ai[1] = -a01 * id;
    ai[2] = -a10 * id;
    ai[3] = a00 * id;
    if (d->woodbury) {
      double u[2 * KK], *v = d->vt + 2 * KK * i, *z = d->z + 2 * KK * i;
      uv_rows(d, s, a, d->w[i], u, v);
      for (int k = 0; k < KK; k++) { /* Z_i = A_i⁻¹ (−γ U_i) */
        double u0 = -gamma * u[k], u1 = -gamma * u[KK + k];
        z[k] = ai[0] * u0 + ai[1] * u1;
        z[KK + k] = ai[2] * u0 + ai[3] * u1;
      }
      for (int k = 0; k < KK; k++) /* capacitance I + Vᵀ Z */
        for (int l = 0; l < KK; l++) cap[k * KK + l] += v[k] * z[l] + v[KK + k] * z[KK + l];
    }
  }
  if (d->woodbury) {
    for (int k = 0; k < KK; k++) cap[k * KK + k] += 1.0;
    if (invert(cap, d->cinv)) return 1;
  }
  *jcur = SUNTRUE;
  return 0;
}

static int psolve(sunrealtype t, N_Vector yv, N_Vector fy, N_Vector rv, N_Vector zv,
                  sunrealtype gamma, sunrealtype delta, int lr, void *ud) {
  (void)t; (void)yv; (void)fy; (void)gamma; (void)delta; (void)lr;
  Data *d = ud;
  const double *r = N_VGetArrayPointer(rv);
  double *x = N_VGetArrayPointer(zv), g[KK] = {0}, h[KK];
  for (sunindextype i = 0; i < d->n; i++) {
    const double *ai = d->ainv + 4 * i;
    double r0 = r[2 * i], r1 = r[2 * i + 1];
    double x0 = ai[0] * r0 + ai[1] * r1, x1 = ai[2] * r0 + ai[3] * r1;
    x[2 * i] = x0;
    x[2 * i + 1] = x1;
    if (d->woodbury) {
      const double *v = d->vt + 2 * KK * i;
      for (int k = 0; k < KK; k++) g[k] += v[k] * x0 + v[KK + k] * x1;
    }
  }
  if (!d->woodbury) return 0;
  for (int k = 0; k < KK; k++) {
    h[k] = 0.0;
    for (int l = 0; l < KK; l++) h[k] += d->cinv[k * KK + l] * g[l];
  }
  for (sunindextype i = 0; i < d->n; i++) {
    const double *z = d->z + 2 * KK * i;
    double x0 = 0.0, x1 = 0.0;
    for (int k = 0; k < KK; k++) {
      x0 += z[k] * h[k];
      x1 += z[KK + k] * h[k];
    }
    x[2 * i] -= x0;
    x[2 * i + 1] -= x1;
  }
  return 0;
}

static void fail(const char *config, const char *what, int flag) {
  printf("{\"solver\": \"CVODE %s\", \"error\": \"%s failed with flag %d\"}\n", config, what, flag);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s dense|spgmr-bd|spgmr-wb PROBLEM_FILE RTOL ATOL [MAXL] [EPSLIN]\n",
            argv[0]);
    return 64;
  }
  const char *config = argv[1];
  int dense = !strcmp(config, "dense"), bd = !strcmp(config, "spgmr-bd"),
      wb = !strcmp(config, "spgmr-wb");
  if (!dense && !bd && !wb) {
    fprintf(stderr, "unknown configuration %s\n", config);
    return 64;
  }
  double rtol = atof(argv[3]), atol = atof(argv[4]);
  int maxl = argc > 5 ? atoi(argv[5]) : 10;
  double epslin = argc > 6 ? atof(argv[6]) : 0.01; /* SUNDIALS default 0.05: see RESULTS.md */

  FILE *f = fopen(argv[2], "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", argv[2]);
    return 66;
  }
  Data d = {0};
  long nt = 0, n = 0;
  if (fscanf(f, "%lf %ld", &d.eps, &nt) != 2 || nt < 1) return 65;
  double *times = malloc(sizeof(double) * nt);
  for (long j = 0; j < nt; j++)
    if (fscanf(f, "%lf", &times[j]) != 1) return 65;
  if (fscanf(f, "%ld", &n) != 1 || n < 1) return 65;
  d.n = n;
  d.inv_eps = 1.0 / d.eps;
  d.w = malloc(sizeof(double) * n);
  double *a0 = malloc(sizeof(double) * n);
  for (long i = 0; i < n; i++)
    if (fscanf(f, "%lf %lf", &a0[i], &d.w[i]) != 2) return 65;
  fclose(f);
  double fact = 1.0;
  const double phi[KK] = {0, 1, 1, 1, 0, 0};
  for (int k = 0; k < KK; k++) {
    if (k > 0) fact *= k;
    d.sigma[k] = 1.0 / sqrt(fact);
    d.sig2[k] = d.sigma[k] * d.sigma[k];
    d.phi[k] = phi[k];
  }
  d.woodbury = wb;
  if (!dense) {
    d.ainv = malloc(sizeof(double) * 4 * n);
    if (wb) {
      d.z = malloc(sizeof(double) * 2 * KK * n);
      d.vt = malloc(sizeof(double) * 2 * KK * n);
    }
  }

  SUNContext ctx;
  if (SUNContext_Create(NULL, &ctx)) return 70;
  N_Vector y = N_VNew_Serial(2 * n, ctx);
  double *yd = N_VGetArrayPointer(y);
  for (long i = 0; i < n; i++) {
    yd[2 * i] = 0.0;
    yd[2 * i + 1] = a0[i];
  }
  double *risks = malloc(sizeof(double) * nt);
  risks[0] = risk(&d, yd);

  void *mem = CVodeCreate(CV_BDF, ctx);
  int flag;
  if ((flag = CVodeInit(mem, rhs, times[0], y))) fail(config, "CVodeInit", flag);
  if ((flag = CVodeSStolerances(mem, rtol, atol))) fail(config, "CVodeSStolerances", flag);
  CVodeSetUserData(mem, &d);
  CVodeSetMaxNumSteps(mem, 10000000);
  SUNMatrix A = NULL;
  SUNLinearSolver LS;
  if (dense) {
    A = SUNDenseMatrix(2 * n, 2 * n, ctx);
    if (!A) fail(config, "SUNDenseMatrix (memory)", -1);
    LS = SUNLinSol_LapackDense(y, A, ctx);
    if ((flag = CVodeSetLinearSolver(mem, LS, A))) fail(config, "CVodeSetLinearSolver", flag);
    if (!getenv("CVODE_PEER_DQ") && (flag = CVodeSetJacFn(mem, jac_dense)))
      fail(config, "CVodeSetJacFn", flag);
  } else {
    LS = SUNLinSol_SPGMR(y, SUN_PREC_LEFT, maxl, ctx);
    if ((flag = CVodeSetLinearSolver(mem, LS, NULL))) fail(config, "CVodeSetLinearSolver", flag);
    if ((flag = CVodeSetJacTimes(mem, jtsetup, jtimes))) fail(config, "CVodeSetJacTimes", flag);
    if ((flag = CVodeSetPreconditioner(mem, psetup, psolve)))
      fail(config, "CVodeSetPreconditioner", flag);
    if ((flag = CVodeSetEpsLin(mem, epslin))) fail(config, "CVodeSetEpsLin", flag);
  }

  double wall = 0.0, cpu = 0.0;
  for (long j = 1; j < nt; j++) {
    double tret, t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    flag = CVode(mem, times[j], y, &tret, CV_NORMAL);
    wall += clock_s(CLOCK_MONOTONIC) - t0;
    cpu += clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (flag < 0) fail(config, "CVode", flag);
    risks[j] = risk(&d, yd);
  }

  long steps, nfe, nsetups, nni, ncfn, netf, nli = 0, npe = 0, nje = 0, nfels = 0;
  CVodeGetNumSteps(mem, &steps);
  CVodeGetNumRhsEvals(mem, &nfe);
  CVodeGetNumLinSolvSetups(mem, &nsetups);
  CVodeGetNumNonlinSolvIters(mem, &nni);
  CVodeGetNumNonlinSolvConvFails(mem, &ncfn);
  CVodeGetNumErrTestFails(mem, &netf);
  CVodeGetNumJacEvals(mem, &nje);
  CVodeGetNumLinRhsEvals(mem, &nfels);
  if (!dense) {
    CVodeGetNumLinIters(mem, &nli);
    CVodeGetNumPrecEvals(mem, &npe);
  }
  const char *label = dense ? "dense LAPACK LU, analytic J"
                      : bd  ? "SPGMR, block-diagonal preconditioner"
                            : "SPGMR, exact Woodbury preconditioner";
  printf("{\"solver\": \"CVODE BDF (%s)\", \"config\": \"%s\", \"n\": %ld, \"rtol\": %.17g, "
         "\"atol\": %.17g, \"maxl\": %d, \"epslin\": %.17g, \"wall\": %.9g, \"cpu\": %.9g, \"steps\": %ld, "
         "\"rhs\": %ld, \"lin_setups\": %ld, \"newton_iters\": %ld, \"newton_fails\": %ld, "
         "\"error_test_fails\": %ld, \"jac_evals\": %ld, \"lin_iters\": %ld, \"prec_evals\": %ld, "
         "\"risk\": [",
         label, config, n, rtol, atol, dense ? 0 : maxl, epslin, wall, cpu, steps, nfe + nfels, nsetups,
         nni, ncfn, netf, nje, nli, npe);
  for (long j = 0; j < nt; j++) printf("%s%.17g", j ? ", " : "", risks[j]);
  printf("]}\n");

  CVodeFree(&mem);
  SUNLinSolFree(LS);
  if (A) SUNMatDestroy(A);
  N_VDestroy(y);
  SUNContext_Free(&ctx);
  free(times);
  free(d.w);
  free(a0);
  free(risks);
  free(d.ainv);
  free(d.z);
  free(d.vt);
  return 0;
}
