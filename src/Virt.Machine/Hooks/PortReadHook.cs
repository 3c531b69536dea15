namespace Virt.Machine;

/// <summary>Called after a guest IN (or an INS iteration) read a hooked port (<see cref="MachineHooks.AddPortReadHook"/>).</summary>
/// <param name="port">The port.</param>
/// <param name="width">The access width in bytes (1, 2 or 4).</param>
/// <param name="value">The value the device returned (or the previous hook's replacement).</param>
/// <returns>The value the guest receives: return <paramref name="value"/> to observe only.</returns>
public delegate uint PortReadHook(ushort port, int width, uint value);
