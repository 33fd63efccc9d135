#!/usr/bin/env python3
"""Unit tests of the projection formulas against closed forms worked by hand and step-by-step simulations
of the algorithms (never against the functions' own output)."""
import math
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import cluster_model  # noqa: E402
import collectives  # noqa: E402
import cost_model as cm  # noqa: E402
import project  # noqa: E402


def simulate_ring_all_reduce(p, n, alpha, beta):
    """The ring algorithm step by step: p-1 reduce-scatter steps, then p-1 all-gather steps; in each step
    every rank sends one n/p chunk to its neighbour at the same time, so a step costs α + (n/p)·β."""
    t = 0.0
    chunk = n / p
    for _phase in ("reduce-scatter", "all-gather"):
        for _step in range(p - 1):
            t += alpha + chunk * beta
    return t


class RingTest(unittest.TestCase):
    def test_all_reduce_closed_form(self):
        # p = 4, n = 1 MB, α = 10 us, β = 1 ns/B: 2·3/4·1e6·1e-9 + 2·3·1e-5 = 1.5e-3 + 6e-5.
        self.assertAlmostEqual(cm.ring_all_reduce(4, 1e6, cm.Link(1e-5, 1e-9)), 1.56e-3, places=12)

    def test_all_reduce_matches_simulation(self):
        for p in (2, 3, 8, 64):
            for n in (8, 1e3, 1e6, 1e9):
                for alpha, beta in ((0, 1e-9), (5e-6, 0), (2e-6, 1 / 50e9)):
                    ref = simulate_ring_all_reduce(p, n, alpha, beta)
                    self.assertAlmostEqual(cm.ring_all_reduce(p, n, cm.Link(alpha, beta)), ref,
                                           delta=1e-12 * max(1.0, ref))

    def test_reduce_scatter_and_all_gather_are_half_an_all_reduce(self):
        link = cm.Link(3e-6, 2e-10)
        self.assertAlmostEqual(cm.ring_reduce_scatter(8, 4e6, link), 7 / 8 * 4e6 * 2e-10 + 7 * 3e-6, places=15)
        self.assertAlmostEqual(cm.ring_all_gather(8, 4e6, link), cm.ring_all_reduce(8, 4e6, link) / 2, places=15)

    def test_one_rank_costs_nothing(self):
        link = cm.Link(1.0, 1.0)
        self.assertEqual(cm.ring_all_reduce(1, 1e9, link), 0.0)
        self.assertEqual(cm.tree_all_reduce(1, 1e9, link), 0.0)
        self.assertEqual(cm.all_reduce(1, 1e9, cm.Topology(8, link, link)), 0.0)

    def test_tree_latency_is_logarithmic(self):
        # p = 1024: 2·10 levels·α, plus 2·n·β.
        self.assertAlmostEqual(cm.tree_all_reduce(1024, 0, cm.Link(1e-6, 0)), 20e-6, places=15)
        self.assertAlmostEqual(cm.tree_all_reduce(1000, 1e6, cm.Link(0, 1e-9)), 2e-3, places=15)
        # Small message, many ranks: the tree wins; large message, few ranks: the ring wins.
        link = cm.Link(5e-6, 1 / 50e9)
        self.assertLess(cm.tree_all_reduce(4096, 1e3, link), cm.ring_all_reduce(4096, 1e3, link))
        self.assertLess(cm.ring_all_reduce(8, 1e9, link), cm.tree_all_reduce(8, 1e9, link))


class TopologyTest(unittest.TestCase):
    intra, inter = cm.Link(2e-6, 1 / 360e9), cm.Link(6e-6, 1 / 45e9)

    def test_single_node_is_the_intra_ring(self):
        topo = cm.Topology(8, self.intra, self.inter)
        ref = simulate_ring_all_reduce(8, 1e9, 2e-6, 1 / 360e9)
        self.assertAlmostEqual(cm.all_reduce(8, 1e9, topo, "ring"), ref, delta=1e-12)

    def test_hierarchical_closed_form(self):
        # 4 nodes x 8: RS inside (7/8·n·βi + 7αi) + AR of n/8 over 4 nodes (best of ring, tree) + AG inside.
        n = 8e8
        topo = cm.Topology(8, self.intra, self.inter)
        inside = 2 * (7 / 8 * n / 360e9 + 7 * 2e-6)
        ring = 2 * 3 / 4 * (n / 8) / 45e9 + 2 * 3 * 6e-6
        tree = 2 * 2 * 6e-6 + 2 * (n / 8) / 45e9
        self.assertAlmostEqual(cm.all_reduce(32, n, topo, "hierarchical"), inside + min(ring, tree), delta=1e-12)
        # Hierarchical moves 1/8 of the bytes over the slow links: it beats a flat ring over them.
        self.assertLess(cm.all_reduce(32, n, topo, "hierarchical"), cm.all_reduce(32, n, topo, "ring"))

    def test_slower_network_never_helps(self):
        fast = cm.Topology(8, self.intra, self.inter)
        slow = cm.Topology(8, self.intra, cm.Link(6e-6, 8 / 45e9))
        for p in (16, 128, 4096):
            self.assertGreater(cm.all_reduce(p, 1e9, slow), cm.all_reduce(p, 1e9, fast))


class ZeroTest(unittest.TestCase):
    def test_volumes(self):
        p, P, G = 16, 2e9, 2e9
        f = 15 / 16
        self.assertAlmostEqual(cm.zero_volume_bytes(0, p, P, G), 2 * f * G)
        self.assertAlmostEqual(cm.zero_volume_bytes(1, p, P, G), cm.zero_volume_bytes(0, p, P, G))
        self.assertAlmostEqual(cm.zero_volume_bytes(3, p, P, G) / cm.zero_volume_bytes(0, p, P, G), 1.5)

    def test_times_by_stage_on_one_ring(self):
        link = cm.Link(1e-6, 1e-10)
        topo = cm.Topology(64, link, link)
        n = 1e9
        rs = 15 / 16 * n * 1e-10 + 15 * 1e-6
        self.assertEqual(cm.zero_step_comm(0, 16, n, n, topo)[1], 0.0)
        self.assertAlmostEqual(sum(cm.zero_step_comm(1, 16, n, n, topo)), 2 * rs, places=12)
        self.assertAlmostEqual(cm.zero_step_comm(1, 16, n, n, topo)[1], rs, places=12)  # the exposed all-gather
        self.assertAlmostEqual(cm.zero_step_comm(3, 16, n, n, topo)[0], 3 * rs, places=12)
        with self.assertRaises(ValueError):
            cm.zero_step_comm(2, 16, n, n, topo)

    def test_overlap(self):
        self.assertAlmostEqual(cm.exposed_comm(1.0, 0.25, backward_s=2.0, overlap=0.0), 1.25)
        self.assertAlmostEqual(cm.exposed_comm(1.0, 0.0, backward_s=2.0, overlap=1.0, last_bucket_s=0.1), 0.1)
        self.assertAlmostEqual(cm.exposed_comm(1.0, 0.0, backward_s=0.5, overlap=1.0, last_bucket_s=0.1), 0.5)

    def test_buckets_cover_the_gradient(self):
        sizes = cm.bucket_times(60e6, 1e6, 25e6)
        self.assertEqual(sizes, [1e6, 25e6, 25e6, 9e6])
        self.assertEqual(cm.bucket_times(0.5e6, 1e6, 25e6), [0.5e6])


class EfficiencyTest(unittest.TestCase):
    def test_definitions(self):
        self.assertEqual(cm.efficiency(2.0, 0.0), 1.0)
        self.assertAlmostEqual(cm.efficiency(3.0, 1.0), 0.75)
        self.assertAlmostEqual(cm.strong_efficiency(8.0, 1.0, 8), 1.0)
        self.assertAlmostEqual(cm.strong_efficiency(8.0, 2.0, 8), 0.5)
        self.assertAlmostEqual(cm.weak_efficiency(1.0, 1.25), 0.8)

    def test_efficiency_tends_to_one_without_communication(self):
        free = cm.Link(0.0, 0.0)
        cluster = cluster_model.Cluster("ideal", 8, free, free, 1e15, 3e12, 1e15, 0.4, 0.5)
        w = cluster_model.Workload()
        for name in ("124M", "7B"):
            for p in (8, 64, 4096):
                r = cluster_model.predict_round(cluster_model.MODELS[name], cluster, p, w, stage=0)
                self.assertEqual(r["comm_exposed_s"], 0.0)
                self.assertAlmostEqual(r["efficiency"], 1.0, places=12)
        # ... and falls as the network slows.
        effs = []
        for gbs in (400, 50, 5, 0.5):
            cluster = cluster_model.h100()
            cluster = cluster_model.Cluster("x", 8, cluster.intra, cm.Link(6e-6, 1 / (gbs * 1e9)), cluster.peak_flops,
                                            cluster.hbm_bytes_per_s, cluster.memory_bytes, 0.4, 0.5)
            effs.append(cluster_model.predict_round(cluster_model.MODELS["1B"], cluster, 256, w, stage=0)["efficiency"])
        self.assertEqual(effs, sorted(effs, reverse=True))
        self.assertLess(effs[-1], 0.9)

    def test_training_flops(self):
        # 6·N + 12·L·d·(s/2): N = 1e9, L = 16, d = 2048, s = 512 -> 6e9 + 12·16·2048·256.
        self.assertEqual(cm.train_flops_per_token(1e9, 16, 2048, 512), 6e9 + 12 * 16 * 2048 * 256)
        # Decode of one row is memory-bound: the weights' bytes over HBM bandwidth.
        self.assertAlmostEqual(cm.decode_step_seconds(7e9, 2, 1, 0, 1e15, 2e12, 0.5), 7e-3)


class CalibrationTest(unittest.TestCase):
    def test_fit_recovers_alpha_beta(self):
        alpha, beta = 7e-6, 1 / 3e9
        rows = [{"np": 4, "collective": "all_reduce", "bytes": n,
                 "time_us": 1e6 * simulate_ring_all_reduce(4, n, alpha, beta)} for n in (64, 1024, 65536, 1 << 22)]
        a, b = collectives.fit_alpha_beta(rows, 4)
        self.assertAlmostEqual(a / alpha, 1.0, places=6)
        self.assertAlmostEqual(b / beta, 1.0, places=6)

    def test_parse_table(self):
        text = ("# backend mpi, 2 ranks, float sum\n# collective size(B) count time(us) algBw busBw\n"
                "all_reduce 16 4 10.0 0.002 0.002\nreduce_scatter 1024 256 20.0 0.05 0.025\n"
                "# backend nccl, 2 ranks\nall_reduce 16 4 1.0 0.02 0.02\n"
                "step without sync 1.0 ms, with sync 1.1 ms: sync overhead 9.1% of the step time (ratio 1.100)\n")
        rows, overhead = collectives.parse_table(text, 2)
        self.assertEqual([(r["collective"], r["bytes"], r["time_us"]) for r in rows],
                         [("all_reduce", 16, 10.0), ("reduce_scatter", 1024, 20.0)])
        self.assertIn("9.1%", overhead)
        # busBw = bytes / time x 2(n-1)/n (all-reduce) or (n-1)/n: 16 B / 10 us x 1 = 1.6e-3 GB/s.
        self.assertAlmostEqual(rows[0]["busbw_gbs"], 1.6e-3, places=12)
        self.assertAlmostEqual(rows[1]["busbw_gbs"], 1024 / 20e-6 / 1e9 / 2, places=12)

    def test_cpu_prediction_at_one_rank_is_the_measurement(self):
        base = {"steps_per_round": 4, "params": 1e6, "sync_s": 0.1, "train_s": 0.5, "step_s": 0.6, "sample_s": 1.0,
                "score_s": 2.0, "other_s": 0.05}
        round_s = 1.0 + 2.0 + 4 * (0.5 + 0.1) + 0.05
        pred = project.predict_cpu(base, 1, "strong", cm.Link(1e-5, 1e-9), cores=2)
        self.assertAlmostEqual(pred["round_s"], round_s)
        # Strong, 2 ranks on 2 cores, free network: compute halves, the optimiser does not.
        pred = project.predict_cpu(base, 2, "strong", cm.Link(0, 0), cores=2)
        self.assertAlmostEqual(pred["round_s"], 1.5 + 4 * (0.25 + 0.1) + 0.05)
        # Weak, 4 ranks on 2 cores: everything per rank runs at half speed.
        pred = project.predict_cpu(base, 4, "weak", cm.Link(0, 0), cores=2)
        self.assertAlmostEqual(pred["round_s"], 2 * 3.0 + 4 * 2 * 0.6 + 0.05)
        # The step's untimed rest (step_s - train_s - sync_s) divides like the compute.
        pred = project.predict_cpu(dict(base, step_s=0.8), 2, "strong", cm.Link(0, 0), cores=2)
        self.assertAlmostEqual(pred["round_s"], 1.5 + 4 * (0.35 + 0.1) + 0.05)


if __name__ == "__main__":
    unittest.main(verbosity=1)
