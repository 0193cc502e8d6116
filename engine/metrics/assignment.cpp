#include "metrics/assignment.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

#include "core/error.h"

namespace coalesce {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Dijkstra from the free row `row` over reduced costs c_ij − u_i − v_j (≥ 0 by the duals' invariant)
// until it reaches a free column (the sink). Fills the shortest-path tree (pathRow[j] = the row that
// reaches column j), marks the rows/columns it settled, and returns the sink with the path length.
struct Search {
    int64_t n;
    const double* cost;
    std::vector<double>& u;
    std::vector<double>& v;
    std::vector<int64_t>& rowOfColumn;
    std::vector<int64_t> pathRow, remaining;
    std::vector<double> distance;
    std::vector<char> rowSettled, columnSettled;

    Search(int64_t size, const double* c, std::vector<double>& uu, std::vector<double>& vv, std::vector<int64_t>& rows)
        : n(size), cost(c), u(uu), v(vv), rowOfColumn(rows), pathRow(size, -1), remaining(size), distance(size),
          rowSettled(size), columnSettled(size) {}

    std::pair<int64_t, double> run(int64_t row) {
        std::fill(distance.begin(), distance.end(), kInf);
        std::fill(rowSettled.begin(), rowSettled.end(), 0);
        std::fill(columnSettled.begin(), columnSettled.end(), 0);
        // Unsettled columns, scanned from the back so that ties favour a free column the way SciPy does.
        int64_t unsettled = n;
        for (int64_t k = 0; k < n; ++k) remaining[k] = n - k - 1;
        double reached = 0.0;
        int64_t i = row;
        while (true) {
            rowSettled[i] = 1;
            const double* c = cost + i * n;
            const double base = reached - u[i];
            int64_t best = -1;
            double lowest = kInf;
            for (int64_t k = 0; k < unsettled; ++k) {
                const int64_t j = remaining[k];
                const double d = base + c[j] - v[j];
                if (d < distance[j]) {
                    pathRow[j] = i;
                    distance[j] = d;
                }
                if (distance[j] < lowest || (distance[j] == lowest && rowOfColumn[j] == -1)) {
                    lowest = distance[j];
                    best = k;
                }
            }
            if (best < 0 || lowest == kInf) throw Error("assignment: no finite augmenting path (the cost matrix has Inf/NaN)");
            reached = lowest;
            const int64_t j = remaining[best];
            columnSettled[j] = 1;
            remaining[best] = remaining[--unsettled];
            if (rowOfColumn[j] == -1) return {j, reached};
            i = rowOfColumn[j];
        }
    }
};

// Jonker & Volgenant's initialisation (Computing 38, 1987): column reduction, reduction transfer and two
// rounds of augmenting row reduction. It assigns most rows cheaply, each to a column minimising
// c_ij − v_j, so that only the few rows it leaves free need a shortest-path search. Without it, on
// the near-equal distances of high-dimensional point sets, every row needs one (bench/w1_vs_pot.sh).
// (Jonker & Volgenant's own guard is steps < current·n; see the budget below.)
void initialiseByReduction(const double* c, int64_t n, std::vector<double>& v, std::vector<int64_t>& columnOfRow,
                           std::vector<int64_t>& rowOfColumn) {
    // Column reduction: v_j = min_i c_ij; a column goes to its minimising row if that row has none cheaper.
    std::vector<int64_t> matches(n, 0);
    for (int64_t j = n - 1; j >= 0; --j) {
        int64_t best = 0;
        for (int64_t i = 1; i < n; ++i)
            if (c[i * n + j] < c[best * n + j]) best = i;
        v[j] = c[best * n + j];
        if (++matches[best] == 1) {
            columnOfRow[best] = j;
            rowOfColumn[j] = best;
        } else if (v[j] < v[columnOfRow[best]]) {
            rowOfColumn[columnOfRow[best]] = -1;
            columnOfRow[best] = j;
            rowOfColumn[j] = best;
        }
    }
    // Reduction transfer: a row that won exactly one column passes its slack to that column's price.
    std::vector<int64_t> freeRows;
    for (int64_t i = 0; i < n; ++i) {
        if (matches[i] == 0) {
            freeRows.push_back(i);
        } else if (matches[i] == 1) {
            const int64_t own = columnOfRow[i];
            double slack = kInf;
            for (int64_t j = 0; j < n; ++j)
                if (j != own) slack = std::min(slack, c[i * n + j] - v[j]);
            if (slack < kInf) v[own] -= slack;
        }
    }
    // Augmenting row reduction (twice): a free row takes its cheapest column j1 at the price that makes
    // its second cheapest j2 as good, evicting j1's owner, who becomes free in turn (an auction step).
    for (int round = 0; round < 2 && !freeRows.empty(); ++round) {
        size_t current = 0, stillFree = 0;
        int64_t steps = 0;
        while (current < freeRows.size()) {
            ++steps;
            const int64_t i = freeRows[current++];
            const double* row = c + i * n;
            int64_t j1 = 0, j2 = -1;
            double h1 = row[0] - v[0], h2 = kInf;
            for (int64_t j = 1; j < n; ++j) {
                const double h = row[j] - v[j];
                if (h < h2) {
                    if (h >= h1) {
                        h2 = h;
                        j2 = j;
                    } else {
                        h2 = h1;
                        h1 = h;
                        j2 = j1;
                        j1 = j;
                    }
                }
            }
            int64_t evicted = rowOfColumn[j1];
            const double lowered = v[j1] - (h2 - h1);
            const bool lowers = lowered < v[j1];
            // Past the step budget a row just takes its cheapest column: the shortest-path phase finishes
            // the rest. The budget matters: on near-equal costs (distances between high-dimensional point
            // sets) the auction raises prices in tiny steps, and unbounded it took 95 000 steps for 1000
            // rows (0.22 s) where 4·n steps per round and a few dozen searches take 0.07 s. It also keeps
            // floating-point ties from cycling.
            if (steps < 4 * n) {
                if (lowers) {
                    v[j1] = lowered;
                } else if (evicted >= 0 && j2 >= 0) {
                    j1 = j2;
                    evicted = rowOfColumn[j2];
                }
                if (evicted >= 0) {
                    if (lowers) freeRows[--current] = evicted;  // the evicted row is tried again at once
                    else freeRows[stillFree++] = evicted;
                }
            } else if (evicted >= 0) {
                freeRows[stillFree++] = evicted;
            }
            if (evicted >= 0) columnOfRow[evicted] = -1;
            columnOfRow[i] = j1;
            rowOfColumn[j1] = i;
        }
        freeRows.resize(stillFree);
    }
}

}  // namespace

std::vector<int64_t> solveAssignment(const double* cost, int64_t n) {
    if (n < 0) throw Error("assignment: negative size");
    std::vector<double> u(n, 0.0), v(n, 0.0);
    std::vector<int64_t> columnOfRow(n, -1), rowOfColumn(n, -1);
    initialiseByReduction(cost, n, v, columnOfRow, rowOfColumn);
    // Row duals that make every reduced cost c_ij − u_i − v_j ≥ 0, and 0 on the assigned arcs (each
    // assigned row holds a column minimising c_ij − v_j).
    for (int64_t i = 0; i < n; ++i) {
        double least = kInf;
        for (int64_t j = 0; j < n; ++j) least = std::min(least, cost[i * n + j] - v[j]);
        u[i] = least;
    }
    Search search(n, cost, u, v, rowOfColumn);
    for (int64_t row = 0; row < n; ++row) {
        if (columnOfRow[row] != -1) continue;
        const auto [sink, length] = search.run(row);
        // Dual update keeps every reduced cost ≥ 0 and those on the tree's settled arcs at 0.
        u[row] += length;
        for (int64_t i = 0; i < n; ++i)
            if (search.rowSettled[i] && i != row) u[i] += length - search.distance[columnOfRow[i]];
        for (int64_t j = 0; j < n; ++j)
            if (search.columnSettled[j]) v[j] -= length - search.distance[j];
        // Augment along the path back from the sink: each column on it takes the row that reached it.
        for (int64_t j = sink;;) {
            const int64_t i = search.pathRow[j];
            rowOfColumn[j] = i;
            std::swap(columnOfRow[i], j);
            if (i == row) break;
        }
    }
    return columnOfRow;
}

}  // namespace coalesce
