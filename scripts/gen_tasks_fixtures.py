#!/usr/bin/env python3
"""Writes test/fixtures/tasks/*.json: expected outputs of the reference metric implementations on
real text, for test/tasks_metrics_*.test.ts (the tests never run Python).

References (none is vendored into this repo; point the script at them):
  - NLTK's PorterStemmer (Debian: apt-get install python3-nltk), used by rouge-score
  - scikit-learn (Debian: python3-sklearn) for accuracy, f1_score, matthews_corrcoef, confusion_matrix
  - sacreBLEU (a checkout of github.com/mjpost/sacrebleu; Debian: python3-regex python3-portalocker
    python3-tabulate python3-colorama python3-lxml python3-numpy for its imports; a bare checkout
    lacks the sacrebleu/version.py that installing writes: add one with __version__), --sacrebleu DIR
  - rouge-score (github.com/google-research/google-research/tree/master/rouge, importable as
    `rouge` or `rouge_score`; needs nltk, six, numpy, absl), --rouge DIR
  - the official SQuAD v1.1 evaluate-v1.1.py, --squad-eval FILE
Inputs come from the project's shared data (--data, default ../shared/data).

  /usr/bin/python3 scripts/gen_tasks_fixtures.py --sacrebleu /path/to/sacrebleu-checkout \\
      --rouge /path/dir-containing-rouge --squad-eval /path/evaluate-v1.1.py
"""
import argparse
import importlib
import importlib.util
import json
import os
import random
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'tasks')


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(',', ':'))
        f.write('\n')
    print('wrote', os.path.relpath(path, ROOT), os.path.getsize(path), 'bytes')


def lines(data, rel):
    with open(os.path.join(data, rel), encoding='utf-8') as f:
        return f.read().split('\n')[:-1]


def jsonl(data, rel):
    with open(os.path.join(data, rel), encoding='utf-8') as f:
        return [json.loads(l) for l in f if l.strip()]


def perturb(sentence, rng):
    """A plausible system output: drop, repeat, swap or lowercase a few words."""
    words = sentence.split()
    out = []
    for w in words:
        r = rng.random()
        if r < 0.08:
            continue
        out.append(w.lower() if r < 0.16 else w)
        if r > 0.95:
            out.append(w)
    if len(out) > 3 and rng.random() < 0.5:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return ' '.join(out)


def gen_porter(data):
    from nltk.stem.porter import PorterStemmer
    import nltk
    words = set()
    for rel in ['multi30k/val.en', 'multi30k/test2016.en', 'sst2/dev.tsv']:
        words |= set(re.findall(r'[a-z]+', '\n'.join(lines(data, rel)).lower()))
    for ex in jsonl(data, 'samsum/test.jsonl'):
        words |= set(re.findall(r'[a-z]+', ex['summary'].lower()))
    # The examples of Porter's paper and NLTK's own extensions and irregular forms.
    words |= set('''caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled
        sized hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational
        valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli vietnamization
        predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti
        triplicate formative formalize electriciti electrical hopeful goodness revival allowance inference
        airliner gyroscopic adjustable defensible irritant replacement adjustment dependent adoption homologou
        communism activate angulariti homologous effective bowdlerize probate rate cease controll roll
        skies dying lying tying news innings inning outings outing cannings canning howe proceed exceed succeed
        oed enjoy spy fly try spied flies dies died generously generalization fully logically
        analogi archaeologi'''.split())
    stemmer = PorterStemmer()
    pairs = [[w, stemmer.stem(w)] for w in sorted(words)]
    write('porter_nltk.json', {'nltk': nltk.__version__, 'mode': stemmer.mode, 'pairs': pairs})


def gen_sklearn():
    import sklearn
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, matthews_corrcoef
    rng = random.Random(7)
    cases = []

    def add(name, labels, preds):
        classes = sorted(set(labels) | set(preds))
        cases.append({
            'name': name, 'labels': labels, 'preds': preds,
            'accuracy': accuracy_score(labels, preds),
            'macroF1': f1_score(labels, preds, average='macro', zero_division=0),
            'perClassF1': [float(x) for x in f1_score(labels, preds, average=None, labels=classes, zero_division=0)],
            'mcc': float(matthews_corrcoef(labels, preds)),
            'classes': classes,
            'confusion': confusion_matrix(labels, preds, labels=classes).tolist(),
        })

    for n, k, acc in [(50, 2, 0.8), (200, 2, 0.55), (120, 3, 0.6), (300, 5, 0.4), (64, 4, 0.9), (500, 7, 0.3)]:
        labels = [rng.randrange(k) for _ in range(n)]
        preds = [y if rng.random() < acc else rng.randrange(k) for y in labels]
        add(f'random n={n} k={k} acc~{acc}', labels, preds)
    names = ['negative', 'neutral', 'positive']
    labels = [rng.choice(names) for _ in range(90)]
    add('string labels', labels, [y if rng.random() < 0.7 else rng.choice(names) for y in labels])
    add('a class only predicted', [0, 0, 1, 1, 0, 1], [0, 2, 1, 1, 0, 2])
    add('constant prediction (MCC 0)', [0, 1, 1, 0, 1, 1, 0], [1] * 7)
    add('constant labels and predictions', [1, 1, 1, 1], [1, 1, 1, 1])
    add('all wrong, binary', [0, 1, 0, 1], [1, 0, 1, 0])
    write('sklearn_classification.json', {'sklearn': sklearn.__version__, 'cases': cases})


def gen_sacrebleu(data, path):
    sys.path.insert(0, path)
    sacrebleu = importlib.import_module('sacrebleu')
    from sacrebleu.metrics import BLEU, CHRF
    rng = random.Random(11)
    en, de = lines(data, 'multi30k/val.en')[:150], lines(data, 'multi30k/val.de')[:150]
    # Punctuation, numbers, entities and symbols exercise the 13a and intl tokenizers.
    extra_refs = ['The price rose 3.5% to $1,200 (about €1.100) in 2019.', 'He said: "Don\'t go -- it\'s 5-4 & late!"',
                  'A &quot;quoted&quot; word &amp; an &lt;angle&gt; pair.', 'Zwei Männer, 25-30 Jahre alt, spielen Fußball.',
                  'She paid 10,5 € for the book... really?', 'E-mail me at info@example.org/today!']
    extra_hyps = ['The price rose 3.5 % to $1,200 (around €1.100) in 2019 .', 'He said "Do not go - it is 5-4 and late!"',
                  'A "quoted" word & an <angle> pair.', 'Zwei Männer , 25-30 Jahre , spielen Fussball.',
                  'She paid 10,5€ for a book...really ?', 'Email me at info@example.org / today']
    refs_en = en + extra_refs
    hyps_en = [perturb(s, rng) for s in en] + extra_hyps
    refs2_en = [perturb(s, rng) for s in refs_en]  # a second, noisier reference per segment
    hyps_de = [perturb(s, rng) for s in de]
    corpora = {
        'en': {'hyps': hyps_en, 'refs': [[r] for r in refs_en]},
        'en2': {'hyps': hyps_en, 'refs': [[a, b] for a, b in zip(refs_en, refs2_en)]},
        'de': {'hyps': hyps_de, 'refs': [[r] for r in de]},
        'short': {'hyps': ['a cat', 'the dog ran', 'yes'], 'refs': [['a cat sat'], ['the dog ran off'], ['no']]},
    }
    cases = []

    def case(kind, name, corpus, count, **kw):
        hyps, refs = corpora[corpus]['hyps'][:count], corpora[corpus]['refs'][:count]
        streams = [[r[k] for r in refs] for k in range(len(refs[0]))]
        c = {'kind': kind, 'name': name, 'corpus': corpus, 'count': len(hyps), 'options': kw}
        if kind == 'bleu':
            s = BLEU(**kw).corpus_score(hyps, streams)
            c.update({'score': s.score, 'counts': list(s.counts), 'totals': list(s.totals),
                      'precisions': list(s.precisions), 'bp': s.bp, 'sysLen': s.sys_len, 'refLen': s.ref_len})
        else:
            c['score'] = CHRF(**kw).corpus_score(hyps, streams).score
        cases.append(c)

    n = len(hyps_en)
    for tok in ['13a', 'intl', 'char', 'none']:
        case('bleu', f'multi30k en, tokenize {tok}', 'en', n, tokenize=tok)
    case('bleu', 'multi30k en, lowercase', 'en', n, lowercase=True)
    for smooth in ['none', 'floor', 'add-k']:
        case('bleu', f'multi30k en, first 12, smooth {smooth}', 'en', 12, smooth_method=smooth)
    case('bleu', 'multi30k en, two references', 'en2', n)
    case('bleu', 'multi30k de', 'de', len(hyps_de))
    case('bleu', 'short segments, effective order', 'short', 3, effective_order=True)
    case('bleu', 'max order 2', 'de', 20, max_ngram_order=2)
    case('chrf', 'multi30k en chrF', 'en', n)
    case('chrf', 'multi30k en chrF++', 'en', n, word_order=2)
    case('chrf', 'multi30k en chrF, two references', 'en2', n)
    case('chrf', 'multi30k de chrF, lowercase', 'de', len(hyps_de), lowercase=True)
    case('chrf', 'multi30k de chrF++ eps smoothing', 'de', len(hyps_de), word_order=2, eps_smoothing=True)
    case('chrf', 'multi30k de chrF with whitespace', 'de', 40, whitespace=True)
    corpora['en2'] = {'refs2': refs2_en}  # en2 = en's hypotheses, references [en ref, refs2]
    write('sacrebleu_multi30k.json', {'sacrebleu': sacrebleu.__version__, 'corpora': corpora, 'cases': cases})


def gen_rouge(data, path):
    sys.path.insert(0, path)
    try:
        rouge_scorer = importlib.import_module('rouge_score.rouge_scorer')
    except ImportError:
        rouge_scorer = importlib.import_module('rouge.rouge_scorer')
    types = ['rouge1', 'rouge2', 'rougeL', 'rougeLsum']
    examples = jsonl(data, 'samsum/test.jsonl')[:80]
    preds, refs = [], []
    for i, ex in enumerate(examples):
        turns = [re.sub(r'^[^:]*:\s*', '', t) for t in ex['source'].replace('\r\n', '\n').split('\n') if t.strip()]
        # A lead baseline, one sentence per line for rougeLsum; every 5th keeps speaker names and one line.
        pred = '\n'.join(turns[:3]) if i % 5 else ' '.join(ex['source'].split('\n')[:2])
        ref = re.sub(r'(?<=[.!?])\s+', '\n', ex['summary'].strip())
        preds.append(pred)
        refs.append(ref)
    cases = []
    for stem in (True, False):
        scorer = rouge_scorer.RougeScorer(types, use_stemmer=stem)
        per = [scorer.score(r, p) for r, p in zip(refs, preds)]
        cases.append({'useStemmer': stem, 'preds': preds, 'refs': refs,
                      'perExample': [{t: s[t].fmeasure for t in types} for s in per],
                      'mean': {t: sum(s[t].fmeasure for s in per) / len(per) for t in types}})
    # Several references per prediction: the best F-measure per type (score_multi).
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
    multi_refs = [[refs[i], refs[(i + 1) % len(refs)]] for i in range(20)]
    multi = [scorer.score_multi(r, p) for r, p in zip(multi_refs, preds[:20])]
    write('rouge_samsum.json', {'cases': cases, 'multi': {
        'preds': preds[:20], 'refs': multi_refs, 'mean': {t: sum(s[t].fmeasure for s in multi) / len(multi) for t in types}}})


def gen_squad(data, path):
    spec = importlib.util.spec_from_file_location('squad_eval', path)
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    with open(os.path.join(data, 'squad/dev-v1.1.json'), encoding='utf-8') as f:
        articles = json.load(f)['data']
    rng = random.Random(5)
    qas = [(p['context'], qa) for a in articles for p in a['paragraphs'] for qa in p['qas']]
    rng.shuffle(qas)
    preds, golds = [], []
    for k, (context, qa) in enumerate(qas[:400]):
        answers = [a['text'] for a in qa['answers']]
        first = qa['answers'][0]
        start, end = first['answer_start'], first['answer_start'] + len(first['text'])
        kind = k % 8
        if kind == 0:
            pred = answers[-1]
        elif kind == 1:  # a wider span of the context
            pred = context[max(0, start - 12):min(len(context), end + 15)]
        elif kind == 2:  # a narrower one
            pred = first['text'][:max(1, len(first['text']) // 2)]
        elif kind == 3:
            pred = 'The ' + first['text'].upper() + '.'
        elif kind == 4:  # an unrelated span
            i = rng.randrange(max(1, len(context) - 30))
            pred = context[i:i + 25]
        elif kind == 5:
            pred = ' the  ' + first['text'] + ' , an answer '
        elif kind == 6:
            pred = ''
        else:
            pred = context[start:end + 40].split('.')[0]
        preds.append(pred)
        golds.append(answers)
    per = [{'em': float(ev.metric_max_over_ground_truths(ev.exact_match_score, p, g)),
            'f1': float(ev.metric_max_over_ground_truths(ev.f1_score, p, g))} for p, g in zip(preds, golds)]
    # The script's own corpus average, through evaluate() on a dataset of these questions.
    dataset = [{'paragraphs': [{'qas': [{'id': str(i), 'answers': [{'text': t} for t in g]} for i, g in enumerate(golds)]}]}]
    total = ev.evaluate(dataset, {str(i): p for i, p in enumerate(preds)})
    normalized = {s: ev.normalize_answer(s) for s in [
        'The Denver Broncos!', 'an apple a day', 'theater the', 'A. B. C.', 'Über the top', 'éthe end', '  spaced\tout\n',
        'Nikola Tesla\'s "AC" motor', 'a_the an_', '½ the price', 'the-the']}
    write('squad_v11.json', {'preds': preds, 'golds': golds, 'perExample': per, 'exactMatch': total['exact_match'],
                             'f1': total['f1'], 'normalized': normalized})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', default=os.path.join(ROOT, '..', 'shared', 'data'))
    ap.add_argument('--sacrebleu', required=True, help='directory containing the sacrebleu package')
    ap.add_argument('--rouge', required=True, help='directory containing the rouge (or rouge_score) package')
    ap.add_argument('--squad-eval', required=True, help='path of the official evaluate-v1.1.py')
    args = ap.parse_args()
    gen_porter(args.data)
    gen_sklearn()
    gen_sacrebleu(args.data, args.sacrebleu)
    gen_rouge(args.data, args.rouge)
    gen_squad(args.data, args.squad_eval)


if __name__ == '__main__':
    main()
