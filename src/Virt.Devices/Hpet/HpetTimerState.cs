namespace Virt.Devices;

/// <summary>The saved state of one timer of an <see cref="Hpet"/>.</summary>
/// <param name="Configuration">Tn_CONF_CAP bits 15:0 as written (capability bits excluded).</param>
/// <param name="Comparator">Tn_COMPARATOR (in periodic mode: the next match).</param>
/// <param name="Period">The period a periodic timer adds to its comparator at each match.</param>
/// <param name="Armed">Whether an interrupt is due at <paramref name="ArmedTick"/>.</param>
/// <param name="ArmedTick">The main-counter value of the next interrupt.</param>
public sealed record HpetTimerState(ulong Configuration, ulong Comparator, ulong Period, bool Armed, ulong ArmedTick);
