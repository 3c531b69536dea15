using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Memory;

namespace Virt.Machine.Tests.Hooks;

/// <summary>The machine the hook tests run their real-mode guests on: 1 MiB, isa-debug-exit, deterministic time.</summary>
internal static class HookTestMachine
{
    /// <summary>Where the guests are loaded and entered (0000:7C00).</summary>
    public const ushort Origin = 0x7C00;

    /// <summary>Builds the machine with <paramref name="code"/> at <see cref="Origin"/>.</summary>
    public static Machine Build(byte[] code, string name) => new MachineBuilder()
        .WithMemorySize(1UL << 20)
        .WithDebugExit()
        .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
        .WithFlatBinary(code, new PhysicalAddress(Origin), BootEntryState.RealMode(0, Origin, name))
        .Build();
}
