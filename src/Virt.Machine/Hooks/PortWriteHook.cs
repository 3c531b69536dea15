namespace Virt.Machine;

/// <summary>Called before a guest OUT (or an OUTS iteration) reaches a hooked port (<see cref="MachineHooks.AddPortWriteHook"/>).</summary>
/// <param name="port">The port.</param>
/// <param name="width">The access width in bytes (1, 2 or 4).</param>
/// <param name="value">The value written; the hook may replace it.</param>
/// <returns>True to let the write through (to the next hook, then the device); false to suppress it.</returns>
public delegate bool PortWriteHook(ushort port, int width, ref uint value);
