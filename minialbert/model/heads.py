"""The models with heads: masked LM, pretraining (MLM + sentence order),
sequence / token classification, span QA and multiple choice.

Each class adds its head's parameters and a ``_head_forward`` /
``_head_backward`` pair; the backbone's forward and backward come from
AlbertPreTrainedModel. Names, shapes and losses follow HF's ALBERT classes.
"""
from __future__ import annotations

from .. import backend
from ..ops import (activation_backward, activation_forward, bce_with_logits_backward, bce_with_logits_forward,
                  check_class_labels, cross_entropy_backward, cross_entropy_forward, dropout_backward,
                  dropout_forward, layernorm_backward, layernorm_forward, linear_backward, linear_forward,
                  mse_backward, mse_forward, IGNORE_INDEX)

from .base import AlbertModel, AlbertPreTrainedModel

WORD_EMB = "albert.embeddings.word_embeddings.weight"


class _HeadMixin:
    def _host_labels(self, labels, name, num_classes=None):
        """Integer labels as a host int64 array (a device array is copied to the host once), their range
        checked there when num_classes is given (labels equal to IGNORE_INDEX excepted), or None."""
        a = labels.get(name)
        if a is None:
            return None
        a = backend.numpy.asarray(backend.to_numpy(a)).astype(backend.numpy.int64)
        if num_classes is not None:
            check_class_labels(a, num_classes)
        return a

    def _labels(self, labels, name, kind="int", num_classes=None):
        """Labels on the model's device: integers (checked on the host against num_classes) or floats in
        the model's dtype; None when absent. The loss ops then need no check (check=False): no sync."""
        if kind == "int":
            a = self._host_labels(labels, name, num_classes)
            return None if a is None else backend.to_device(a, self.device)
        a = labels.get(name)
        if a is None:
            return None
        return backend.to_device(backend.numpy.asarray(backend.to_numpy(a)).astype(self.dtype), self.device)

    def _drop(self, x, p):
        return dropout_forward(x, p if p is not None else 0.0, self._rng, self.training)

    def _classify(self, x, p_drop):
        """dropout -> Linear 'classifier' (sequence, token and multiple-choice heads)."""
        xd, c_drop = self._drop(x, p_drop)
        logits, c_lin = linear_forward(xd, self.params["classifier.weight"], self.params["classifier.bias"])
        return logits, (c_drop, c_lin)

    def _classify_backward(self, dlogits, cache):
        c_drop, c_lin = cache
        dxd = linear_backward(dlogits, c_lin, self._grads["classifier.weight"], self._grads["classifier.bias"])
        return dropout_backward(dxd, c_drop)


# ----------------------------------------------------------------------------- MLM head


WORD_EMB_2 = "albert.embeddings.word_embeddings_2.weight"


def mlm_head_specs(cfg):
    V, E, H = cfg.vocab_size, cfg.embedding_size, cfg.hidden_size
    W = H if cfg.embedding_layout == "albert_zh" else E   # albert_zh transforms at width H
    return [("predictions.bias", (V,), "zeros"),
            ("predictions.dense.weight", (W, H), "normal"), ("predictions.dense.bias", (W,), "zeros"),
            ("predictions.LayerNorm.weight", (W,), "ones"), ("predictions.LayerNorm.bias", (W,), "zeros")]


def mlm_head_forward(seq, P, cfg, trace=None):
    """seq (B, T, H) -> prediction logits (B, T, V).

    dense H -> E, activation, LayerNorm, then the decoder E -> V whose weight is
    the word-embedding matrix itself (tied input/output embeddings).
    """
    h, c1 = linear_forward(seq, P["predictions.dense.weight"], P["predictions.dense.bias"])     # (B, T, E)
    a, c2 = activation_forward(h, cfg.hidden_act)
    n, c3 = layernorm_forward(a, P["predictions.LayerNorm.weight"], P["predictions.LayerNorm.bias"],
                              cfg.layer_norm_eps)
    if trace is not None:
        trace["mlm.transform"] = n
    c_back = None
    if cfg.zh_projection:
        # albert_zh: back from H to E through the transposed word_embeddings_2
        n, c_back = linear_forward(n, P[WORD_EMB_2].T)                                       # (B, T, E)
    logits, c4 = linear_forward(n, P[WORD_EMB], P["predictions.bias"])                         # (B, T, V)
    return logits, (c1, c2, c3, c4, c_back)


def mlm_head_backward(dlogits, cache, G, cfg, tgrads=None):
    c1, c2, c3, c4, c_back = cache
    # The decoder's weight gradient lands in the word-embedding buffer: the
    # embedding matrix collects one gradient from its lookup and one from here.
    dn = linear_backward(dlogits, c4, G[WORD_EMB], G["predictions.bias"])
    if c_back is not None:
        dn = linear_backward(dn, c_back, G[WORD_EMB_2].T)   # a transposed view: adds in place
    if tgrads is not None:
        tgrads["mlm.transform"] = dn
    da = layernorm_backward(dn, c3, G["predictions.LayerNorm.weight"], G["predictions.LayerNorm.bias"])
    dh = activation_backward(da, c2, cfg.hidden_act)
    return linear_backward(dh, c1, G["predictions.dense.weight"], G["predictions.dense.bias"])


def _mlm_loss(logits, labels):
    V = logits.shape[-1]
    return cross_entropy_forward(logits.reshape(-1, V), labels.reshape(-1), check=False)   # checked on the host


def mlm_forward_with_loss(model, seq, labels, trace):
    """The MLM head, and its loss when labels are given.

    With ``model.mlm_labelled_only = True`` (pretraining speed-up; HF has no such
    switch) the head runs only at the ~15 % of positions that carry a label, so
    the (B, T, V) logits shrink to (N_labelled, V); the loss is the same number.
    """
    np_ = backend.numpy
    lab = model._host_labels(labels, "labels", model.config.vocab_size)                 # host, checked
    sel = None
    if lab is not None and getattr(model, "mlm_labelled_only", False):
        B, T, H = seq.shape
        sel_h = np_.nonzero(lab.reshape(-1) != IGNORE_INDEX)[0]                              # (N,) on the host
        sel = backend.to_device(sel_h, model.device)
        logits, c = mlm_head_forward(seq.reshape(-1, H)[sel], model.params, model.config, trace)   # (N, V)
        loss, closs = cross_entropy_forward(logits, backend.to_device(lab.reshape(-1)[sel_h], model.device),
                                            check=False)
        return logits, loss, (c, closs, logits.shape, sel, seq.shape)
    logits, c = mlm_head_forward(seq, model.params, model.config, trace)
    lab = None if lab is None else backend.to_device(lab, model.device)
    loss, closs = _mlm_loss(logits, lab) if lab is not None else (None, None)
    return logits, loss, (c, closs, logits.shape, None, seq.shape)


def mlm_backward_with_loss(model, cache, dlogits_up, tgrads):
    c, closs, shape, sel, seq_shape = cache
    dlogits = cross_entropy_backward(model._loss_scale, closs).reshape(shape) if closs is not None else dlogits_up
    if dlogits is None:
        return None
    if tgrads is not None:
        tgrads["prediction_logits" if isinstance(model, AlbertForPreTraining) else "logits"] = dlogits
    dseq = mlm_head_backward(dlogits, c, model._grads, model.config, tgrads)
    if sel is not None:  # scatter back to the labelled positions (each appears once)
        full = model.xp.zeros((seq_shape[0] * seq_shape[1], seq_shape[2]), dtype=dseq.dtype)
        full[sel] = dseq
        dseq = full.reshape(seq_shape)
    return dseq


class AlbertForMaskedLM(_HeadMixin, AlbertPreTrainedModel):
    add_pooler = False
    label_names = ("labels",)

    def head_specs(self):
        return mlm_head_specs(self.config)

    def tied_aliases(self):
        return {"predictions.decoder.weight": WORD_EMB, "predictions.decoder.bias": "predictions.bias"}

    mlm_labelled_only = False

    def _head_forward(self, out, seq, pooled, shape, labels, trace):
        logits, loss, cache = mlm_forward_with_loss(self, seq, labels, trace)
        if loss is not None:
            out["loss"] = loss
        out["logits"] = logits
        if trace is not None:
            trace["logits"] = logits
        return out, cache

    def _head_backward(self, hcache, up, tgrads):
        return mlm_backward_with_loss(self, hcache, up.get("logits"), tgrads), None


class AlbertForPreTraining(_HeadMixin, AlbertPreTrainedModel):
    """MLM + sentence-order prediction (SOP, paper §3.1): loss = MLM CE + SOP CE."""
    label_names = ("labels", "sentence_order_label")

    def head_specs(self):
        H = self.config.hidden_size
        return mlm_head_specs(self.config) + [("sop_classifier.classifier.weight", (2, H), "normal"),
                                              ("sop_classifier.classifier.bias", (2,), "zeros")]

    def tied_aliases(self):
        return {"predictions.decoder.weight": WORD_EMB, "predictions.decoder.bias": "predictions.bias"}

    mlm_labelled_only = False

    def _head_forward(self, out, seq, pooled, shape, labels, trace):
        P = self.params
        logits, mlm_loss, c_mlm = mlm_forward_with_loss(self, seq, labels, trace)
        pd, c_drop = self._drop(pooled, self.config.classifier_dropout_prob)
        sop, c_sop = linear_forward(pd, P["sop_classifier.classifier.weight"], P["sop_classifier.classifier.bias"])
        sol = self._labels(labels, "sentence_order_label", num_classes=2)
        cl_sop = None
        losses = [mlm_loss] if mlm_loss is not None else []
        if sol is not None:
            l, cl_sop = cross_entropy_forward(sop, sol, check=False)
            losses.append(l)
        if losses:
            out["loss"] = sum(losses[1:], losses[0])
        out["prediction_logits"] = logits
        out["sop_logits"] = sop
        if trace is not None:
            trace.update(prediction_logits=logits, sop_logits=sop)
        return out, (c_mlm, c_drop, c_sop, cl_sop)

    def _head_backward(self, hcache, up, tgrads):
        G = self._grads
        c_mlm, c_drop, c_sop, cl_sop = hcache
        dseq = mlm_backward_with_loss(self, c_mlm, up.get("prediction_logits"), tgrads)
        dsop = cross_entropy_backward(self._loss_scale, cl_sop) if cl_sop is not None else up.get("sop_logits")
        dpooled = None
        if dsop is not None:
            dpd = linear_backward(dsop, c_sop, G["sop_classifier.classifier.weight"],
                                  G["sop_classifier.classifier.bias"])
            dpooled = dropout_backward(dpd, c_drop)
        if tgrads is not None:
            tgrads["sop_logits"] = dsop
        return dseq, dpooled


# ----------------------------------------------------------------------------- classification heads


class AlbertForSequenceClassification(_HeadMixin, AlbertPreTrainedModel):
    """pooled -> dropout -> Linear(H, K). problem_type as HF: regression (MSE),
    single_label_classification (CE), multi_label_classification (BCE with logits)."""
    label_names = ("labels",)

    def head_specs(self):
        K, H = self.config.num_labels, self.config.hidden_size
        return [("classifier.weight", (K, H), "normal"), ("classifier.bias", (K,), "zeros")]

    def _problem_type(self, lab):
        cfg = self.config
        if cfg.problem_type is None:  # HF infers it from the labels on first use
            if cfg.num_labels == 1:
                cfg.problem_type = "regression"
            elif lab.dtype.kind in "iu":
                cfg.problem_type = "single_label_classification"
            else:
                cfg.problem_type = "multi_label_classification"
        return cfg.problem_type

    def _head_forward(self, out, seq, pooled, shape, labels, trace):
        cfg = self.config
        logits, c_cls = self._classify(pooled, cfg.classifier_dropout_prob)                    # (B, K)
        closs = None
        raw = labels.get("labels")
        if raw is not None:
            pt = self._problem_type(backend.numpy.asarray(backend.to_numpy(raw)))
            if pt == "regression":
                lab = self._labels(labels, "labels", "float")
                pred = logits.reshape(-1) if cfg.num_labels == 1 else logits
                out["loss"], cl = mse_forward(pred, lab.reshape(pred.shape))
                closs = ("mse", cl)
            elif pt == "single_label_classification":
                out["loss"], cl = cross_entropy_forward(logits, self._labels(labels, "labels",
                                                                             num_classes=cfg.num_labels), check=False)
                closs = ("ce", cl)
            else:
                out["loss"], cl = bce_with_logits_forward(logits, self._labels(labels, "labels", "float"))
                closs = ("bce", cl)
        out["logits"] = logits
        if trace is not None:
            trace["logits"] = logits
        return out, (c_cls, closs, logits.shape)

    def _head_backward(self, hcache, up, tgrads):
        c_cls, closs, shape = hcache
        if closs is None:
            dlogits = up["logits"]
        else:
            kind, cl = closs
            back = {"mse": mse_backward, "ce": cross_entropy_backward, "bce": bce_with_logits_backward}[kind]
            dlogits = back(self._loss_scale, cl).reshape(shape)
        if tgrads is not None:
            tgrads["logits"] = dlogits
        return None, self._classify_backward(dlogits, c_cls)


class AlbertForTokenClassification(_HeadMixin, AlbertPreTrainedModel):
    """sequence -> dropout -> Linear(H, K) per token; CE ignoring label -100."""
    add_pooler = False
    label_names = ("labels",)

    def head_specs(self):
        K, H = self.config.num_labels, self.config.hidden_size
        return [("classifier.weight", (K, H), "normal"), ("classifier.bias", (K,), "zeros")]

    def _head_forward(self, out, seq, pooled, shape, labels, trace):
        cfg = self.config
        p = cfg.classifier_dropout_prob if cfg.classifier_dropout_prob is not None else cfg.hidden_dropout_prob
        logits, c_cls = self._classify(seq, p)                                                   # (B, T, K)
        lab = self._labels(labels, "labels", num_classes=cfg.num_labels)
        closs = None
        if lab is not None:
            out["loss"], closs = cross_entropy_forward(logits.reshape(-1, cfg.num_labels), lab.reshape(-1),
                                                       check=False)
        out["logits"] = logits
        if trace is not None:
            trace["logits"] = logits
        return out, (c_cls, closs, logits.shape)

    def _head_backward(self, hcache, up, tgrads):
        c_cls, closs, shape = hcache
        dlogits = cross_entropy_backward(self._loss_scale, closs).reshape(shape) if closs is not None else up["logits"]
        if tgrads is not None:
            tgrads["logits"] = dlogits
        return self._classify_backward(dlogits, c_cls), None


class AlbertForQuestionAnswering(_HeadMixin, AlbertPreTrainedModel):
    """Span QA: Linear(H, 2) per token -> start and end logits.
    Loss = (CE(start) + CE(end)) / 2; positions outside [0, T) are clamped to T
    and ignored, as in HF."""
    add_pooler = False
    label_names = ("start_positions", "end_positions")

    def head_specs(self):
        H = self.config.hidden_size
        return [("qa_outputs.weight", (2, H), "normal"), ("qa_outputs.bias", (2,), "zeros")]

    def _head_forward(self, out, seq, pooled, shape, labels, trace):
        xp = self.xp
        logits, c_lin = linear_forward(seq, self.params["qa_outputs.weight"], self.params["qa_outputs.bias"])
        start, end = logits[..., 0], logits[..., 1]                                          # (B, T) each
        sp, ep = self._labels(labels, "start_positions"), self._labels(labels, "end_positions")
        closs = None
        if sp is not None and ep is not None:
            T = seq.shape[1]
            sp = xp.clip(sp.reshape(-1), 0, T)
            ep = xp.clip(ep.reshape(-1), 0, T)
            # clipped to [0, T] with T ignored: always in range, nothing to check (and no sync)
            ls, cs = cross_entropy_forward(start, sp, ignore_index=T, check=False)
            le, ce = cross_entropy_forward(end, ep, ignore_index=T, check=False)
            out["loss"] = (ls + le) / 2
            closs = (cs, ce)
        out["start_logits"], out["end_logits"] = start, end
        if trace is not None:
            trace.update(start_logits=start, end_logits=end)
        return out, (c_lin, closs, logits.shape)

    def _head_backward(self, hcache, up, tgrads):
        xp = self.xp
        c_lin, closs, shape = hcache
        dlogits = xp.zeros(shape, dtype=self.dtype)
        if closs is not None:
            dlogits[..., 0] = cross_entropy_backward(0.5 * self._loss_scale, closs[0])
            dlogits[..., 1] = cross_entropy_backward(0.5 * self._loss_scale, closs[1])
        else:
            if "start_logits" in up:
                dlogits[..., 0] = up["start_logits"]
            if "end_logits" in up:
                dlogits[..., 1] = up["end_logits"]
        if tgrads is not None:
            tgrads.update(start_logits=dlogits[..., 0], end_logits=dlogits[..., 1])
        return linear_backward(dlogits, c_lin, self._grads["qa_outputs.weight"], self._grads["qa_outputs.bias"]), None


class AlbertForMultipleChoice(_HeadMixin, AlbertPreTrainedModel):
    """Inputs (B, C, T): every choice runs through the backbone as its own row;
    pooled -> dropout -> Linear(H, 1) scores each, softmax over the C choices."""
    input_ndim = 3
    label_names = ("labels",)

    def head_specs(self):
        H = self.config.hidden_size
        return [("classifier.weight", (1, H), "normal"), ("classifier.bias", (1,), "zeros")]

    def _head_forward(self, out, seq, pooled, shape, labels, trace):
        B, C = shape[0], shape[1]
        scores, c_cls = self._classify(pooled, self.config.classifier_dropout_prob)            # (B*C, 1)
        logits = scores.reshape(B, C)
        lab = self._labels(labels, "labels", num_classes=C)
        closs = None
        if lab is not None:
            out["loss"], closs = cross_entropy_forward(logits, lab, check=False)
        out["logits"] = logits
        if trace is not None:
            trace["logits"] = logits
        return out, (c_cls, closs, scores.shape)

    def _head_backward(self, hcache, up, tgrads):
        c_cls, closs, sshape = hcache
        dlogits = cross_entropy_backward(self._loss_scale, closs) if closs is not None else up["logits"]
        if tgrads is not None:
            tgrads["logits"] = dlogits
        return None, self._classify_backward(dlogits.reshape(sshape), c_cls)


MODEL_CLASSES = {c.__name__: c for c in (AlbertModel, AlbertForMaskedLM, AlbertForPreTraining,
                                         AlbertForSequenceClassification, AlbertForTokenClassification,
                                         AlbertForQuestionAnswering, AlbertForMultipleChoice)}
