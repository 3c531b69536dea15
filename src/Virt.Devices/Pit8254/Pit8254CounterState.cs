namespace Virt.Devices;

/// <summary>The saved state of one counter of a <see cref="Pit8254"/>. Ticks count the 1.193182 MHz input clock from guest time zero.</summary>
/// <param name="Mode">The counting mode, 0 to 5.</param>
/// <param name="Bcd">Whether the counter counts in BCD.</param>
/// <param name="Access">RW1-RW0 of the control word: 1 = LSB only, 2 = MSB only, 3 = LSB then MSB.</param>
/// <param name="ControlBits">Control word bits 5-0 as written (returned by the read-back status).</param>
/// <param name="CountRegister">CR as a count, 1 to 65536 (10000 in BCD).</param>
/// <param name="HasCount">Whether a count was written since the last control word.</param>
/// <param name="NullCount">The status byte's null count bit.</param>
/// <param name="WriteMsbNext">The write byte pointer (LSB-then-MSB access).</param>
/// <param name="WriteLsb">The LSB written, waiting for the MSB.</param>
/// <param name="ReadMsbNext">The read byte pointer (LSB-then-MSB access).</param>
/// <param name="CountLatched">Whether the output latch holds a latched count.</param>
/// <param name="OutputLatch">OL: the latched count, as the guest reads it.</param>
/// <param name="StatusLatched">Whether a read-back status is latched.</param>
/// <param name="StatusLatch">The latched status byte.</param>
/// <param name="Gate">The GATE input level.</param>
/// <param name="Phase">0 idle, 1 waiting for the load tick, 2 waiting for a gate trigger, 3 counting.</param>
/// <param name="LoadTick">The tick CR is loaded into CE (phase 1).</param>
/// <param name="AnchorTick">The tick the dynamics fields are valid at (phase 3).</param>
/// <param name="Value">The counting element (mode 3: the position in the period).</param>
/// <param name="Remaining">Modes 0, 1, 4, 5: ticks until terminal count, or -1.</param>
/// <param name="Period">Modes 2 and 3: the count being run.</param>
/// <param name="PendingReload">Modes 2 and 3: a count to load at the end of the cycle, or 0.</param>
/// <param name="Out">The OUT level (at the anchor when counting).</param>
public sealed record Pit8254CounterState(
    int Mode,
    bool Bcd,
    int Access,
    byte ControlBits,
    int CountRegister,
    bool HasCount,
    bool NullCount,
    bool WriteMsbNext,
    byte WriteLsb,
    bool ReadMsbNext,
    bool CountLatched,
    ushort OutputLatch,
    bool StatusLatched,
    byte StatusLatch,
    bool Gate,
    int Phase,
    long LoadTick,
    long AnchorTick,
    int Value,
    long Remaining,
    int Period,
    int PendingReload,
    bool Out);
