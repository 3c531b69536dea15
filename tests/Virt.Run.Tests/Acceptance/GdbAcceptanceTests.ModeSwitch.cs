using Xunit;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// gdb attached before a kernel enters long mode (docs/debugging.md, "Registers and the target description"): the i386
/// layout stays for that connection, and reconnecting after <c>set architecture auto</c> gives the x86-64 one.
/// </summary>
public sealed partial class GdbAcceptanceTests
{
    [Fact]
    public async Task GdbAttachedBeforeLongModeGetsX8664ByReconnecting()
    {
        (byte[] kernel, byte[] elf, uint compute, _) = BuildLongModeKernel();

        // -S: gdb connects at the 32-bit Multiboot entry, with the i386 description (and without the 64-bit ELF, whose
        // architecture gdb would hold against that description).
        GdbSession session = await RunGdbSessionAsync(
            kernel,
            [
                $"hbreak *0x{LongCodeAddress:x}",
                "continue",
                "info registers eip",
                "set architecture auto",
                "detach",
                "target remote 127.0.0.1:" + PortPlaceholder,
                "info registers rip",
                $"file {SymbolFilePlaceholder}",   // only now: before the reconnect gdb holds the i386 description against it
                "break compute",
                "set var *(int*)&go = 1",
                "continue",
                "info registers rip rax",
                "detach",
            ],
            symbolFile: elf,
            loadSymbolsFirst: false);

        string gdbOut = session.GdbOut;

        // The first connection: the first 64-bit instruction, in the i386 layout (EIP, the low half of RIP).
        Assert.Matches($@"eip\s+0x{LongCodeAddress:x}\s", gdbOut);

        // The second: x86-64 registers (the kernel waits in its 64-bit loop for 'go'), a breakpoint by symbol, RAX in full.
        Assert.Matches(@"rip\s+0x[0-9a-f]+\s", gdbOut);
        Assert.True(gdbOut.Contains($"Breakpoint 2, 0x{compute:x16} in compute ()", StringComparison.Ordinal), session.Transcript);
        Assert.Matches($@"rax\s+0x{RaxAtCall:x}\s", gdbOut);
        Assert.True(session.VirtExit == 1, session.Transcript);
    }
}
