using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine;

/// <summary>
/// What a code hook (<see cref="MachineHooks.AddCodeHook"/>) gets: the CPU (registers, flags, EIP; all writable), the
/// guest memory, and a way to end the run. Valid only during the call.
/// </summary>
public sealed class HookContext
{
    private readonly Machine _machine;

    internal HookContext(Machine machine)
    {
        _machine = machine;
    }

    /// <summary>The machine.</summary>
    public Machine Machine => _machine;

    /// <summary>The CPU, stopped before the hooked instruction (CS.base + EIP is <see cref="LinearAddress"/>).</summary>
    public X86Cpu Cpu => _machine.Cpu;

    /// <summary>The guest physical memory map.</summary>
    public PhysicalMemoryMap Memory => _machine.Memory;

    /// <summary>The linear address of the hooked instruction.</summary>
    public uint LinearAddress { get; internal set; }

    /// <summary>Whether a hook asked to stop (<see cref="Stop"/>).</summary>
    public bool StopRequested { get; internal set; }

    /// <summary>
    /// Ends the run once the hooks at this address have run: <see cref="Machine.Run"/> returns
    /// <see cref="MachineStopKind.Paused"/>. The hooked instruction has not run; the next run executes it without calling the
    /// hooks again.
    /// </summary>
    public void Stop() => StopRequested = true;
}
