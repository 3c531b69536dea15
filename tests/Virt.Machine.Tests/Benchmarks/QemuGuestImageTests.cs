using Virt.Benchmarks;
using Virt.Cpu;
using Xunit;

namespace Virt.Machine.Tests.Benchmarks;

/// <summary>
/// The QEMU comparison's firmware images (tests/Virt.Benchmarks/QemuGuestImage.cs) on Virt: each boots from the reset
/// vector, runs the tier benchmark's loop in its mode for the iterations built in and exits through isa-debug-exit with
/// the digest of the registers the bare loop ends with; the image adds a fixed number of instructions to the loop's.
/// </summary>
public sealed class QemuGuestImageTests
{
    /// <summary>The loops by name.</summary>
    public static TheoryData<string> Loops => new(QemuGuestLoop.All.Select(l => l.Name));

    /// <summary>
    /// The image ends with the exit status <c>(digest &lt;&lt; 1) | 1</c> of the registers that the same loop leaves on the
    /// tier benchmark's bare CPU (set up by the host, ending in HLT), and retires the bare loop's instructions plus an
    /// overhead that does not depend on the iteration count, on both tiers.
    /// </summary>
    /// <param name="name">The loop.</param>
    [Theory]
    [MemberData(nameof(Loops))]
    public void Image_runs_the_bare_loop_and_exits_with_its_register_digest(string name)
    {
        QemuGuestLoop loop = QemuGuestLoop.All.Single(l => l.Name == name);
        var overheads = new List<long>();
        foreach (uint iterations in new uint[] { 3, 10 })
        {
            (ulong[] registers, long bareInstructions) = RunBare(loop, iterations);
            int expectedStatus = (int)(QemuGuestImage.Digest(registers, loop.Mode) << 1) | 1;
            foreach (ExecutionTier tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Compiled })
            {
                using Machine machine = new MachineBuilder()
                    .WithFirmware(QemuGuestImage.Build(loop, iterations))
                    .WithDebugExit(QemuGuestImage.DebugExitPort, QemuGuestImage.DebugExitSizeInPorts)
                    .WithCpu(new CpuOptions { ExecutionTier = tier, CompileThreshold = 0 })
                    .Build();
                MachineStopReason stop = machine.Run(maxInstructions: 10_000_000);
                Assert.Equal(MachineStopKind.DebugExit, stop.Kind);
                Assert.Equal(expectedStatus, stop.ProcessExitStatus);
                overheads.Add(machine.Cpu.RetiredInstructions - bareInstructions);
            }
        }

        Assert.All(overheads, o => Assert.Equal(overheads[0], o));
        // The setup copies the loop, its data and its tables byte by byte (each REP MOVSB element counts), at most the image.
        Assert.InRange(overheads[0], 1, QemuGuestImage.SizeInBytes);
    }

    /// <summary>The image replaces the loop's one HLT by a RET and leaves every other byte of the loop as GuestPrograms assembled it.</summary>
    /// <param name="name">The loop.</param>
    [Theory]
    [MemberData(nameof(Loops))]
    public void Image_holds_the_loop_bytes_with_the_halt_made_a_return(string name)
    {
        QemuGuestLoop loop = QemuGuestLoop.All.Single(l => l.Name == name);
        byte[] code = loop.Code(1234);
        byte[] image = QemuGuestImage.Build(loop, 1234);
        int at = image.AsSpan().IndexOf(code.AsSpan(0, 16));
        Assert.True(at >= 0, "the loop's bytes are not in the image");
        int[] differences = Enumerable.Range(0, code.Length).Where(i => image[at + i] != code[i]).ToArray();
        int difference = Assert.Single(differences);
        Assert.Equal(0xF4, code[difference]);
        Assert.Equal(0xC3, image[at + difference]);
    }

    /// <summary>Runs the loop on the tier benchmark's bare CPU from zeroed registers to its HLT.</summary>
    private static (ulong[] Registers, long Instructions) RunBare(QemuGuestLoop loop, uint iterations)
    {
        Cpu.Cpu cpu = loop.CreateBareCpu(iterations, new CpuOptions());
        GeneralRegister[] digestOrder = [GeneralRegister.Rax, GeneralRegister.Rbx, GeneralRegister.Rcx, GeneralRegister.Rdx, GeneralRegister.Rsi, GeneralRegister.Rdi, GeneralRegister.Rbp];
        foreach (GeneralRegister register in digestOrder)
        {
            cpu.SetRegister(register, 0);
        }

        Assert.Equal(StopReason.Halted, cpu.Run(10_000_000));
        return (digestOrder.Select(cpu.GetRegister).ToArray(), cpu.RetiredInstructions);
    }
}
