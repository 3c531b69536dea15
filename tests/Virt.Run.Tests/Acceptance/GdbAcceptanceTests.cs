using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Real gdb in batch mode against <c>Virt.Run -gdb tcp::PORT -S</c>: a breakpoint, registers, memory, a memory write that
/// changes what the guest prints afterwards, stepi and detach; a hardware watchpoint. gdb must be installed
/// (.ci/install-packages does it).
/// </summary>
[Trait("Category", "Acceptance")]
public sealed partial class GdbAcceptanceTests
{
    private const uint LoadAddress = 0x100000;
    private const int CodeOffset = 0x40;
    private const int ValueOffset = 0x200;
    private const uint ValueAddress = LoadAddress + ValueOffset;
    private const uint InitialValue = 7;
    private const uint WatchedAddress = ValueAddress + 4;
    private const uint WatchedValue = 0x1234;
    private const uint Cr4OsFxsr = 1 << 9;
    private const uint Xmm1LowLane = 0x4020_0000; // 2.5f

    /// <summary>Stands for the stub's TCP port in a gdb command of <see cref="RunGdbSessionAsync"/>.</summary>
    private const string PortPlaceholder = "{port}";

    /// <summary>Stands for the symbol file's path in a gdb command of <see cref="RunGdbSessionAsync"/>.</summary>
    private const string SymbolFilePlaceholder = "{symbols}";

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task GdbReadsX87AndSseRegistersOfA32BitKernel()
    {
        (byte[] kernel, uint loadInstruction, _) = BuildKernel();
        GdbSession session = await RunGdbSessionAsync(
            kernel,
            [
                $"break *0x{loadInstruction:x}",
                "continue",
                "info registers st0",
                "p $xmm1",
                "p $xmm1.v4_int32[0]",
                "info registers fctrl ftag",
                "set $xmm1.v4_int32[0] = 0x2a",
                "p $xmm1.v4_int32[0]",
                "detach",
            ]);

        string gdbOut = session.GdbOut;
        Assert.True(gdbOut.Contains("raw 0x4000c90fdaa22168c235", StringComparison.Ordinal), session.Transcript); // st0 = pi (80-bit)
        Assert.True(gdbOut.Contains("v4_float = {2.5, 0, 0, 0}", StringComparison.Ordinal), session.Transcript);
        Assert.True(gdbOut.Contains($"= {Xmm1LowLane}", StringComparison.Ordinal), session.Transcript);
        Assert.Matches(@"fctrl\s+0x37f", gdbOut);
        Assert.Matches(@"ftag\s+0x3fff", gdbOut);   // only physical R7 (ST0 after one push) in use, valid
        Assert.True(gdbOut.Contains("= 42", StringComparison.Ordinal), session.Transcript); // the write went to the CPU and back
        Assert.True(session.VirtExit == 1, session.Transcript);
    }

    [Fact]
    public async Task GdbBreaksReadsRegistersAndMemoryStepsWritesMemoryAndDetaches()
    {
        (byte[] kernel, uint loadInstruction, uint afterLoad) = BuildKernel();
        GdbSession session = await RunGdbSessionAsync(
            kernel,
            [
                $"break *0x{loadInstruction:x}",
                "continue",
                "info registers eip",
                $"x/4xw 0x{ValueAddress:x}",
                $"set {{int}}0x{ValueAddress:x} = 42",
                "stepi",
                "info registers eip eax",
                "detach",
            ]);

        string gdbOut = session.GdbOut;
        Assert.True(gdbOut.Contains($"0x{loadInstruction:x}", StringComparison.Ordinal), session.Transcript);                 // info registers eip at the breakpoint
        Assert.True(gdbOut.Contains($"0x{ValueAddress:x}:\t0x{InitialValue:x8}", StringComparison.Ordinal), session.Transcript); // x/4xw before the write
        Assert.True(gdbOut.Contains($"0x{afterLoad:x}", StringComparison.Ordinal), session.Transcript);                       // eip after stepi
        Assert.Matches(@"eax\s+0x2a\s+42", gdbOut);                                                                        // the load saw the write

        // After detach the guest runs on, prints the value it loaded and exits through isa-debug-exit with 0.
        Assert.True(session.VirtOut.Contains("0000002A", StringComparison.Ordinal), session.Transcript);
        Assert.True(session.VirtExit == 1, session.Transcript);
    }

    [Fact]
    public async Task GdbWatchpointStopsAfterTheStoreWithOldAndNewValue()
    {
        (byte[] kernel, uint loadInstruction, _) = BuildKernel();
        GdbSession session = await RunGdbSessionAsync(
            kernel,
            [
                $"watch *(int*)0x{WatchedAddress:x}",
                "continue",
                "info registers eip",
                "delete",
                "detach",
            ]);

        Assert.True(session.GdbOut.Contains("Hardware watchpoint 1", StringComparison.Ordinal), session.Transcript);
        Assert.True(session.GdbOut.Contains($"New value = {WatchedValue}", StringComparison.Ordinal), session.Transcript);
        Assert.True(session.GdbOut.Contains($"0x{loadInstruction:x}", StringComparison.Ordinal), session.Transcript); // stopped after the store
        Assert.True(session.VirtOut.Contains("00000007", StringComparison.Ordinal), session.Transcript);
        Assert.True(session.VirtExit == 1, session.Transcript);
    }

    /// <summary>
    /// Starts Virt.Run with the kernel, waiting for a debugger on a free port, and runs gdb in batch mode against it with
    /// <paramref name="commands"/> after connecting; returns both programs' exit codes and output.
    /// </summary>
    /// <param name="kernel">The Multiboot kernel.</param>
    /// <param name="commands">gdb commands after <c>target remote</c>; <see cref="PortPlaceholder"/> in them becomes the stub's port (to reconnect).</param>
    /// <param name="symbolFile">An ELF file for gdb's <c>file</c> (its architecture then comes from it), or null for <c>set architecture i386</c>.</param>
    /// <param name="waitForAttach">Whether Virt.Run waits for gdb before the first instruction (<c>-S</c>).</param>
    /// <param name="loadSymbolsFirst">Whether <c>file</c> comes before <c>target remote</c>; when false, the session starts with
    /// <c>set architecture i386</c> and <see cref="SymbolFilePlaceholder"/> in <paramref name="commands"/> becomes the symbol file's path.</param>
    private static async Task<GdbSession> RunGdbSessionAsync(
        byte[] kernel, string[] commands, byte[]? symbolFile = null, bool waitForAttach = true, bool loadSymbolsFirst = true)
    {
        string gdb = VirtRunProcess.Which("gdb")
            ?? throw new InvalidOperationException("gdb is not installed: install the 'gdb' package (see .ci/install-packages)");
        string directory = Directory.CreateTempSubdirectory("virt-gdb-").FullName;
        try
        {
            string kernelPath = Path.Combine(directory, "kernel.bin");
            File.WriteAllBytes(kernelPath, kernel);
            int port = FreePort();
            string[] virtArguments =
            [
                "-kernel", kernelPath, "-display", "none", "-serial", "null", "-debugcon", "stdio",
                "-device", "isa-debug-exit", "-gdb", $"tcp::{port}", .. waitForAttach ? ["-S"] : Array.Empty<string>(), "--timeout", "60",
            ];
            Task<(int ExitCode, string Stdout, string Stderr)> virt = Task.Run(() => VirtRunProcess.RunVirt(s_timeout, virtArguments));
            string symbolPath = Path.Combine(directory, "kernel.elf");
            if (symbolFile is not null)
            {
                File.WriteAllBytes(symbolPath, symbolFile);
            }

            string[] arguments =
            [
                "-batch", "-nx",
                "-ex", "set tcp connect-timeout 60",
                "-ex", symbolFile is null || !loadSymbolsFirst ? "set architecture i386" : $"file {symbolPath}",
                "-ex", $"target remote 127.0.0.1:{port}",
                .. commands.SelectMany(command => new[]
                {
                    "-ex",
                    command.Replace(PortPlaceholder, port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                        .Replace(SymbolFilePlaceholder, symbolPath, StringComparison.Ordinal),
                }),
            ];
            (int gdbExit, string gdbOut, string gdbErr) = VirtRunProcess.Run(gdb, arguments, s_timeout);
            (int virtExit, string virtOut, string virtErr) = await virt;
            string transcript = $"gdb exit {gdbExit}\n{gdbOut}\n{gdbErr}\nVirt.Run exit {virtExit}\n{virtOut}\n{virtErr}";
            return new GdbSession(gdbOut, virtExit, virtOut, transcript);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int FreePort()
    {
        // Port 0 makes the system pick a free port; it is released for Virt.Run right away (a tiny window, fine for tests).
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A Multiboot kernel (a.out kludge): [watched] = 1234h; EAX = [value]; print EAX in hex to port E9h; exit with 0.</summary>
    private static (byte[] Image, uint LoadInstruction, uint AfterLoad) BuildKernel()
    {
        var a = new Assembler(32);
        Label load = a.CreateLabel();
        Label afterLoad = a.CreateLabel();
        Label printHex = a.CreateLabel();
        a.mov(esp, 0x90000);

        // x87 and SSE state for the register test: ST0 = pi (FLDPI), XMM1 = 2.5f in its low lane; SSE needs CR4.OSFXSR
        // (Intel SDM Vol. 3A, 2.5: without it SSE instructions raise #UD).
        a.mov(eax, cr4);
        a.or(eax, Cr4OsFxsr);
        a.mov(cr4, eax);
        a.fldpi();
        a.mov(eax, Xmm1LowLane);
        a.movd(xmm1, eax);
        a.mov(__dword_ptr[WatchedAddress], WatchedValue); // for the watchpoint test; ends where `load` begins
        a.Label(ref load);
        a.mov(eax, __dword_ptr[ValueAddress]);
        a.Label(ref afterLoad);
        a.call(printHex);
        a.mov(dx, 0x501);
        a.mov(al, 0);
        a.@out(dx, al);
        a.cli();
        a.hlt();
        DebugconCode.EmitPrintHex(a, printHex, '\n');

        using var stream = new MemoryStream();
        AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), LoadAddress + CodeOffset, BlockEncoderOptions.ReturnNewInstructionOffsets);
        byte[] code = stream.ToArray();
        Debug.Assert(CodeOffset + code.Length <= ValueOffset, "the code must end before the value");

        byte[] image = new byte[ValueOffset + 16];
        Span<byte> h = image;
        const uint flags = 0x0001_0003; // page-align modules, want memory info, address fields valid
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x1BADB002);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], unchecked(0u - 0x1BADB002u - flags));
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], LoadAddress + (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], LoadAddress + (uint)image.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], LoadAddress + CodeOffset);
        code.CopyTo(image, CodeOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(h[ValueOffset..], InitialValue);
        return (image, (uint)result.GetLabelRIP(load), (uint)result.GetLabelRIP(afterLoad));
    }

    /// <summary>What a gdb session against Virt.Run left: gdb's output, Virt.Run's exit code and output, and both for messages.</summary>
    private sealed record GdbSession(string GdbOut, int VirtExit, string VirtOut, string Transcript);
}
