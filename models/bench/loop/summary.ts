/** From two accuracy-against-labels curves to the benchmark's headline numbers and goals. */

export interface CurvePoint {
  /** Labels spent so far. */
  labels: number;
  /** Accuracy on the shifted test set after the round that spent them. */
  accuracy: number;
}

type PerArm<T> = { uncertainty: T; random: T };

export interface Fallback {
  rule: 'random_final' | 'halfway';
  description: string;
  target: number;
  labels_to_target: PerArm<number | null>;
  label_efficiency: number | null;
}

export interface Summary {
  baseline_accuracy: number;
  /** The uncertainty arm's accuracy at the end of the budget. */
  final_accuracy: number;
  final_accuracy_random: number;
  target: number;
  /** The first label count at which each arm reached `target`; null if it never did within the budget. */
  labels_to_target: PerArm<number | null>;
  /** random ÷ uncertainty labels to `target`; null unless both arms reached it. */
  label_efficiency: number | null;
  /**
   * When only the uncertainty arm reached `target`, random needs more than the whole budget, so
   * budget ÷ uncertainty is a lower bound on the efficiency. Null otherwise.
   */
  label_efficiency_lower_bound: number | null;
  /**
   * The same comparison at lower targets both arms can reach, for when `target` is out of reach:
   * the random arm's final accuracy (how many labels uncertainty needs to match what random gets
   * from the whole budget) and halfway from the baseline to the best final accuracy.
   */
  fallbacks: Fallback[];
  goals: {
    label_efficiency: { goal: number; value: number | null; met: boolean };
    final_accuracy: { goal: number; value: number; met: boolean };
    seconds_trigger_to_fleet: { goal: number; value: number | null; met: boolean | null; note: string };
  };
}

/** The first label count at which `curve` reaches `target`, or null. */
export function labelsToReach(curve: readonly CurvePoint[], target: number): number | null {
  return curve.find((p) => p.accuracy >= target)?.labels ?? null;
}

function efficiency(random: number | null, uncertainty: number | null): number | null {
  return random !== null && uncertainty !== null && uncertainty > 0 ? random / uncertainty : null;
}

export const GOALS = { label_efficiency: 3, final_accuracy: 0.97, seconds_trigger_to_fleet: 60 } as const;

/** Summarises both arms' curves against `target`. */
export function summarise(curves: PerArm<CurvePoint[]>, baseline: number, target: number, budget: number): Summary {
  const last = (c: CurvePoint[]) => c[c.length - 1]?.accuracy ?? baseline;
  const finalU = last(curves.uncertainty);
  const finalR = last(curves.random);
  const toTarget = { uncertainty: labelsToReach(curves.uncertainty, target), random: labelsToReach(curves.random, target) };
  const labelEfficiency = efficiency(toTarget.random, toTarget.uncertainty);
  const lowerBound = toTarget.random === null && toTarget.uncertainty ? budget / toTarget.uncertainty : null;
  const fallback = (rule: Fallback['rule'], description: string, at: number): Fallback => {
    const labels = { uncertainty: labelsToReach(curves.uncertainty, at), random: labelsToReach(curves.random, at) };
    return { rule, description, target: at, labels_to_target: labels, label_efficiency: efficiency(labels.random, labels.uncertainty) };
  };
  const fallbacks = [
    fallback('random_final', "the random arm's accuracy at the end of the budget", finalR),
    fallback(
      'halfway',
      'halfway from the baseline to the best final accuracy of either arm',
      baseline + (Math.max(finalU, finalR) - baseline) / 2,
    ),
  ];
  const efficiencyValue = labelEfficiency ?? lowerBound;
  return {
    baseline_accuracy: baseline,
    final_accuracy: finalU,
    final_accuracy_random: finalR,
    target,
    labels_to_target: toTarget,
    label_efficiency: labelEfficiency,
    label_efficiency_lower_bound: lowerBound,
    fallbacks,
    goals: {
      label_efficiency: {
        goal: GOALS.label_efficiency,
        value: efficiencyValue,
        met: efficiencyValue !== null && efficiencyValue >= GOALS.label_efficiency,
      },
      final_accuracy: { goal: GOALS.final_accuracy, value: finalU, met: finalU >= GOALS.final_accuracy },
      seconds_trigger_to_fleet: { goal: GOALS.seconds_trigger_to_fleet, value: null, met: null, note: 'measured by the system run' },
    },
  };
}
