namespace Virt.Devices;

/// <summary>The saved state of one 8259A of a <see cref="Pic8259Pair"/>; names follow the datasheet.</summary>
/// <param name="Irr">Interrupt request register.</param>
/// <param name="Isr">In-service register.</param>
/// <param name="Imr">Interrupt mask register (OCW1).</param>
/// <param name="InputLevels">The last level seen on each IR pin.</param>
/// <param name="Elcr">Edge/level control register (1 = level-triggered input).</param>
/// <param name="Icw1">ICW1 as written.</param>
/// <param name="VectorBase">ICW2 bits 7-3.</param>
/// <param name="Icw3">ICW3 as written.</param>
/// <param name="Icw4">ICW4 as written (0 when ICW1.IC4 was clear).</param>
/// <param name="InitStep">0 when initialized, else the ICW number awaited (2 to 4).</param>
/// <param name="LowestPriority">The IR with the lowest priority (0 to 7).</param>
/// <param name="RotateOnAutoEoi">OCW2 rotate-in-AEOI-mode flag.</param>
/// <param name="SpecialMask">OCW3 special mask mode.</param>
/// <param name="ReadIsr">OCW3: reads of the command port return the ISR.</param>
/// <param name="PollPending">OCW3: the next command-port read is a poll.</param>
public sealed record Pic8259ChipState(
    byte Irr,
    byte Isr,
    byte Imr,
    byte InputLevels,
    byte Elcr,
    byte Icw1,
    byte VectorBase,
    byte Icw3,
    byte Icw4,
    int InitStep,
    int LowestPriority,
    bool RotateOnAutoEoi,
    bool SpecialMask,
    bool ReadIsr,
    bool PollPending);
