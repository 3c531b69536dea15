using Iced.Intel;
using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Machine.Tests.Docs;

/// <summary>The harness example of docs/machine.md ("Harness"), compiled and run: keep the two in step.</summary>
public sealed class HarnessExampleTests
{
    [Fact]
    public async Task WaitForSerialAsyncExampleRuns()
    {
        // A guest that prints two lines on COM1 and then spins, as a kernel that boots and idles.
        var asm = new Assembler(16);
        Label spin = asm.CreateLabel();
        asm.mov(dx, 0x3F8);                   // COM1 data register
        foreach (char c in "booting...\nREADY\n")
        {
            asm.mov(al, (byte)c);
            asm.@out(dx, al);
        }

        asm.Label(ref spin);
        asm.jmp(spin);
        var code = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(code), 0x7C00);

        using Machine machine = new MachineBuilder()
            .WithMemorySize(16UL << 20)
            .WithSerialCapture(0)             // COM1, keeping the last 1 MiB of output
            .WithFlatBinary(code.ToArray(), new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "example"))
            .Build();
        SerialCapture com1 = machine.GetSerialCapture(0);
        var lines = new List<string>();
        Task reading = Task.Run(async () =>
        {
            await foreach (string line in com1.ReadLinesAsync())
            {
                lines.Add(line);
            }
        });

        // Run until the guest says READY: the machine stops right after the OUT that sent the "Y".
        SerialWaitResult ready = await machine.WaitForSerialAsync("READY", instructionBudget: 1_000_000, timeout: TimeSpan.FromSeconds(30));
        Assert.True(ready.Found);
        Assert.Equal("booting...\nREADY", com1.GetText());

        // It never prints a login prompt: the budget ends the wait, and the result says so.
        SerialWaitResult login = await machine.WaitForSerialAsync("login:", 1_000_000, TimeSpan.FromSeconds(30));
        Assert.False(login.Found);
        Assert.Equal(MachineStopKind.BudgetExhausted, login.Stop!.Kind);

        machine.Dispose();                    // ends the capture's streams
        await reading;
        Assert.Equal(["booting...", "READY"], lines);
    }
}
